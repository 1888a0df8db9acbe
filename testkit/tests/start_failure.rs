//! A start-up that cannot finish in time fails with a useful message and leaves nothing
//! behind. In its own test binary so that no other test's nodes are children of this
//! process while it looks for leftovers.

use std::time::Duration;

use dqlite_testkit::{reference_binaries, ReferenceCluster, TestkitError};

/// PIDs of this process's children whose command is `dqlite-demo`, zombies included.
fn demo_children() -> Vec<u32> {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some((head, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let ppid = rest.split_whitespace().nth(1);
            head.ends_with("(dqlite-demo") && ppid == Some(me.as_str())
        })
        .collect()
}

#[test]
fn a_start_timeout_reports_what_it_saw_and_cleans_up() {
    if reference_binaries().is_err() {
        eprintln!("skipping: the C dqlite reference is missing (apt-get install -y go-dqlite)");
        return;
    }
    // Three voters never appear this fast: joining and promotion take seconds.
    let err = ReferenceCluster::start_with_timeout(3, Duration::from_millis(300))
        .expect_err("start-up cannot finish in 300 ms");
    let msg = err.to_string();
    assert!(matches!(err, TestkitError::Timeout(_)), "{msg}");
    assert!(msg.contains("last seen"), "{msg}");
    for node in 1..=3 {
        assert!(msg.contains(&format!("--- node {node} (db 127.")), "{msg}");
    }
    assert!(
        demo_children().is_empty(),
        "left running: {:?}",
        demo_children()
    );
    let prefix = format!("dqlite-testkit-{}-", std::process::id());
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .expect("read the temp dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "temp dirs left behind: {left:?}");
    eprintln!("{msg}");
}
