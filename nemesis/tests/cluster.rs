//! The cluster harness against real processes: our `dqlite-server` and C `dqlite-demo` in
//! network namespaces, each fault once, and nothing left behind after `shutdown` or `Drop`.
//!
//! Needs root and `ip netns` (skipped with a printed line otherwise, unless `CI=true`).
//! The server is `$DQLITE_SERVER_BIN` (default `<workspace>/target/debug/dqlite-server`);
//! `dqlite-demo` comes from `PATH`.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dqlite_client::{NodeInfo, Role};
use dqlite_nemesis::cluster::{Cluster, ClusterError, ClusterSpec, Isolation, Target};

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether namespaces can be used here; prints why not (panics under CI=true).
fn namespaces_ok(test: &str) -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"));
    let netns = Command::new("ip")
        .args(["netns", "list"])
        .status()
        .is_ok_and(|s| s.success());
    if root.unwrap_or(false) && netns {
        return true;
    }
    assert!(
        !ci(),
        "{test}: CI=true but root + `ip netns` are unavailable"
    );
    println!("skipping {test}: needs root and `ip netns`");
    false
}

fn server_bin() -> PathBuf {
    std::env::var_os("DQLITE_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/dqlite-server")
        })
}

fn demo_bin(test: &str) -> Option<PathBuf> {
    let out = Command::new("sh")
        .args(["-c", "command -v dqlite-demo"])
        .output()
        .ok()?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if out.status.success() && !path.is_empty() {
        return Some(PathBuf::from(path));
    }
    assert!(!ci(), "{test}: CI=true but dqlite-demo is not on PATH");
    println!("skipping {test}: dqlite-demo not on PATH");
    None
}

/// A fresh run directory for one test.
fn work_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dqlite-nemesis-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn spec(target: Target, nodes: usize, bin: PathBuf, dir: &Path, disk: Option<u64>) -> ClusterSpec {
    let extra = match target {
        Target::Ours => ["--election-timeout-ms", "1000", "--heartbeat-ms", "200"]
            .map(String::from)
            .to_vec(),
        Target::C => Vec::new(),
    };
    ClusterSpec {
        target,
        nodes,
        server_bin: bin,
        work_dir: dir.to_path_buf(),
        allow_namespaces: true,
        disk_bytes: disk,
        extra_args: extra,
    }
}

fn accepts(addr: &str) -> bool {
    let a: SocketAddr = addr.parse().unwrap();
    TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok()
}

/// What is still on the system with `prefix` in its name.
fn leftovers(prefix: &str) -> Vec<String> {
    let sh = |c: &str| {
        let o = Command::new("sh").args(["-c", c]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let all = [
        sh("ip netns list"),
        sh("ip -o link"),
        std::fs::read_to_string("/proc/mounts").unwrap(),
        sh("iptables -w 5 -S FORWARD"),
    ];
    all.iter()
        .flat_map(|t| t.lines())
        .filter(|l| l.contains(prefix))
        .map(String::from)
        .collect()
}

/// Runs `f` on a fresh single-threaded runtime.
fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(f)
}

/// Waits (bounded) until the leader lists `n` nodes, all voters, and returns them: the
/// namespaces talk to each other (and killing one of three leaves a quorum).
fn await_members(addrs: Vec<String>, n: usize) -> Vec<NodeInfo> {
    block_on(async {
        let client = dqlite_client::Cluster::from_addresses(addrs, Default::default()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(40);
        let mut last = String::new();
        while Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_secs(5), client.nodes()).await {
                Ok(Ok(nodes))
                    if nodes.len() == n && nodes.iter().all(|m| m.role == Some(Role::Voter)) =>
                {
                    return nodes
                }
                other => last = format!("{other:?}"),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("the cluster never listed {n} voters; last answer: {last}");
    })
}

/// The log of node i after its last start marker.
fn last_run_log(c: &Cluster, i: usize) -> String {
    let text = std::fs::read_to_string(c.log_path(i)).unwrap();
    let start = text.rfind("=== dqlite-nemesis: start").unwrap();
    text[start..].to_owned()
}

#[test]
fn ours_in_namespaces_every_fault() {
    if !namespaces_ok("ours_in_namespaces_every_fault") {
        return;
    }
    let dir = work_dir("ours");
    let mut c = Cluster::start(spec(Target::Ours, 3, server_bin(), &dir, Some(64 << 20))).unwrap();
    let prefix = c.prefix();
    assert_eq!(c.isolation(), Isolation::Namespaces);
    assert_eq!(c.len(), 3);
    for a in c.addresses() {
        assert!(
            accepts(&a),
            "{a} does not accept TCP from the root namespace"
        );
    }
    assert_eq!(c.node_of_address(c.address(2)), Some(2));
    await_members(c.addresses(), 3);

    // Partition node 0 from 1 and 2 (both directions).
    c.partition(&[vec![1, 2], vec![0], vec![0]]).unwrap();
    assert!(!c.can_reach(1, 0), "node 1 still reaches node 0");
    assert!(!c.can_reach(0, 2), "node 0 still reaches node 2");
    assert!(c.can_reach(1, 2), "node 1 no longer reaches node 2");
    assert!(accepts(c.address(0)), "the root namespace lost node 0");
    c.heal_partition().unwrap();
    assert!(
        c.can_reach(1, 0) && c.can_reach(0, 2),
        "healing did not restore traffic"
    );

    // Kill and restart.
    let pid = c.pid(2).unwrap();
    c.kill(2).unwrap();
    assert!(!c.is_running(2));
    assert!(!accepts(c.address(2)));
    c.restart(2).unwrap();
    assert!(c.is_running(2));
    assert_ne!(c.pid(2), Some(pid));
    assert!(accepts(c.address(2)));
    println!("node 2 after restart:\n{}", last_run_log(&c, 2));

    // Pause and resume.
    c.pause(1).unwrap();
    assert!(c.is_paused(1) && c.is_running(1));
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", c.pid(1).unwrap())).unwrap();
    assert!(stat.contains(") T "), "not stopped: {stat}");
    c.resume(1).unwrap();
    assert!(!c.is_paused(1));
    await_members(c.addresses(), 3);

    // Disk full and freed.
    c.fill_disk(2).unwrap();
    let probe = c.data_dir(2).join("probe");
    let err = std::fs::File::create(&probe)
        .and_then(|mut f| f.write_all(&[7u8; 8192]))
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(28), "expected ENOSPC, got {err}");
    c.free_disk(2).unwrap();
    std::fs::write(&probe, [7u8; 8192]).unwrap();

    // Wipe: the node is stopped and its directory emptied (the tmpfs stays).
    c.wipe(2).unwrap();
    assert!(!c.is_running(2));
    assert_eq!(std::fs::read_dir(c.data_dir(2)).unwrap().count(), 0);

    c.shutdown().unwrap();
    assert_eq!(leftovers(&prefix), Vec::<String>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn c_dqlite_in_namespaces() {
    if !namespaces_ok("c_dqlite_in_namespaces") {
        return;
    }
    let Some(bin) = demo_bin("c_dqlite_in_namespaces") else {
        return;
    };
    let dir = work_dir("c");
    let mut c = Cluster::start(spec(Target::C, 3, bin, &dir, None)).unwrap();
    let prefix = c.prefix();
    for a in c.addresses() {
        assert!(accepts(&a), "{a} does not accept TCP");
    }
    await_members(c.addresses(), 3);
    let pid = c.pid(1).unwrap();
    c.kill(1).unwrap();
    c.restart(1).unwrap();
    assert_ne!(c.pid(1), Some(pid));
    assert!(accepts(c.address(1)));
    await_members(c.addresses(), 3);
    println!("node 1 after restart:\n{}", last_run_log(&c, 1));
    c.shutdown().unwrap();
    assert_eq!(leftovers(&prefix), Vec::<String>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn drop_cleans_up() {
    if !namespaces_ok("drop_cleans_up") {
        return;
    }
    let dir = work_dir("drop");
    let mut c = Cluster::start(spec(Target::Ours, 2, server_bin(), &dir, Some(16 << 20))).unwrap();
    let prefix = c.prefix();
    c.partition(&[vec![1], vec![0]]).unwrap();
    c.pause(1).unwrap();
    let pids = [c.pid(0).unwrap(), c.pid(1).unwrap()];
    assert!(!leftovers(&prefix).is_empty());
    drop(c);
    assert_eq!(leftovers(&prefix), Vec::<String>::new());
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "pid {pid} survived"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn loopback_has_no_partitions() {
    let dir = work_dir("loopback");
    let mut s = spec(Target::Ours, 1, server_bin(), &dir, None);
    s.allow_namespaces = false;
    let mut c = Cluster::start(s).unwrap();
    assert_eq!(c.isolation(), Isolation::Loopback);
    assert!(c.address(0).starts_with("127.0.0.1:"));
    assert!(matches!(
        c.partition(&[vec![]]),
        Err(ClusterError::Unsupported(_))
    ));
    assert!(matches!(c.fill_disk(0), Err(ClusterError::Unsupported(_))));
    c.kill(0).unwrap();
    c.restart(0).unwrap();
    assert!(accepts(c.address(0)));
    c.shutdown().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ours_membership_churn() {
    if !namespaces_ok("ours_membership_churn") {
        return;
    }
    let dir = work_dir("churn");
    let mut c = Cluster::start(spec(Target::Ours, 3, server_bin(), &dir, None)).unwrap();
    let before = await_members(c.addresses(), 3);
    let old = before
        .iter()
        .find(|n| n.address == c.address(2))
        .unwrap()
        .id;
    c.kill(2).unwrap();
    let addrs = c.addresses();
    let removed = block_on(async {
        let client =
            dqlite_client::Cluster::from_addresses(addrs[..2].to_vec(), Default::default());
        tokio::time::timeout(Duration::from_secs(20), client.unwrap().remove(old)).await
    });
    if !matches!(removed, Ok(Ok(()))) {
        for i in 0..3 {
            println!("node {i}:\n{}", last_run_log(&c, i));
        }
        panic!("REMOVE of node 2 ({old}): {removed:?}");
    }
    await_members(c.addresses(), 2);
    c.start_joining(2, &addrs[..2]).unwrap();
    let after = await_members(c.addresses(), 3);
    let new = after.iter().find(|n| n.address == c.address(2)).unwrap().id;
    assert_ne!(new, old, "the wiped node kept its id");
    c.shutdown().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn failed_start_cleans_up() {
    if !namespaces_ok("failed_start_cleans_up") {
        return;
    }
    let dir = work_dir("failed");
    let mut s = spec(Target::Ours, 2, server_bin(), &dir, Some(8 << 20));
    s.extra_args.push("--no-such-flag".into());
    let err = Cluster::start(s).unwrap_err().to_string();
    assert!(
        err.contains("node 0") && err.contains("no-such-flag"),
        "{err}"
    );
    let at = err.find("dqn").expect("the error names the namespace");
    let prefix = &err[at..at + 7];
    assert_eq!(leftovers(prefix), Vec::<String>::new(), "after: {err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The rest of the crate moves a cluster into blocking tasks.
#[test]
fn cluster_is_send() {
    fn send<T: Send + 'static>() {}
    send::<Cluster>();
    send::<ClusterError>();
}

/// Found by the long runs: with a relative run directory the tmpfs mounts were never
/// unmounted (`/proc/mounts` lists absolute paths, so they looked unmounted already).
#[test]
fn a_relative_work_dir_is_cleaned_up() {
    if !namespaces_ok("a_relative_work_dir_is_cleaned_up") {
        return;
    }
    let dir = work_dir("relative");
    // The same directory, spelt relative to the current one.
    let cwd = std::env::current_dir().unwrap();
    let mut rel = PathBuf::new();
    for _ in cwd.components().skip(1) {
        rel.push("..");
    }
    rel.push(dir.strip_prefix("/").unwrap());
    assert!(rel.is_relative() && rel.is_dir(), "{}", rel.display());
    let c = Cluster::start(spec(Target::Ours, 1, server_bin(), &rel, Some(16 << 20))).unwrap();
    let prefix = c.prefix();
    assert!(
        leftovers(&prefix).iter().any(|l| l.contains("tmpfs")),
        "the disk is mounted"
    );
    c.shutdown().unwrap();
    assert_eq!(leftovers(&prefix), Vec::<String>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A leader cut off from its peers (clients still reach it) must never answer a read with a
/// value that the new leader on the other side has overwritten: its lease runs out before
/// the others can elect anyone, and it steps down after an election timeout.
#[test]
fn ours_an_isolated_old_leader_never_answers_a_read_stale() {
    if !namespaces_ok("ours_an_isolated_old_leader_never_answers_a_read_stale") {
        return;
    }
    let dir = work_dir("stale");
    let mut c = Cluster::start(spec(Target::Ours, 3, server_bin(), &dir, None)).unwrap();
    let prefix = c.prefix();
    await_members(c.addresses(), 3);
    let config = dqlite_client::Config::default()
        .with_retry_budget(Duration::from_secs(30))
        .with_hedge_after(None);
    let all = dqlite_client::Cluster::from_addresses(c.addresses(), config.clone()).unwrap();
    let db = all.open("stale");
    let old_addr = block_on(async {
        db.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)", ())
            .await
            .unwrap();
        db.execute("INSERT INTO t VALUES (1, 'old')", ())
            .await
            .unwrap();
        all.leader_address().await.unwrap()
    });
    let old = c.node_of_address(&old_addr).unwrap();
    // A handle that only knows the old leader: it keeps asking it.
    let pinned = dqlite_client::Cluster::from_addresses(
        [old_addr.clone()],
        config.clone().with_retry_budget(Duration::from_secs(3)),
    )
    .unwrap()
    .open("stale");
    let read = |db: &dqlite_client::Db| {
        let db = db.clone();
        block_on(async move {
            db.query_all("SELECT v FROM t WHERE k = 1", ())
                .await
                .map(|rows| {
                    rows.iter()
                        .map(|r| r.get::<String, _>(0).unwrap())
                        .collect::<Vec<_>>()
                })
        })
    };
    assert_eq!(read(&pinned).unwrap(), ["old"]);

    let others: Vec<usize> = (0..3).filter(|i| *i != old).collect();
    let drops: Vec<Vec<usize>> = (0..3)
        .map(|i| if i == old { others.clone() } else { vec![old] })
        .collect();
    c.partition(&drops).unwrap();
    let rest = dqlite_client::Cluster::from_addresses(
        others.iter().map(|i| c.address(*i).to_owned()),
        config,
    )
    .unwrap()
    .open("stale");
    // The others may still name the old leader for a moment, so the (idempotent) overwrite
    // is repeated until a leader on their side acknowledges it.
    block_on(async {
        let mut last = None;
        for _ in 0..20 {
            match rest.execute("UPDATE t SET v = 'new' WHERE k = 1", ()).await {
                Ok(_) => return,
                Err(e) => last = Some(e),
            }
        }
        panic!("the new leader never acknowledged the overwrite: {last:?}");
    });
    match read(&pinned) {
        Ok(values) => assert_eq!(
            values,
            ["new"],
            "stale read: the isolated old leader answered with the overwritten value"
        ),
        Err(e) => println!("the isolated old leader refused the read: {e}"),
    }
    c.heal_partition().unwrap();
    c.shutdown().unwrap();
    assert_eq!(leftovers(&prefix), Vec::<String>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}
