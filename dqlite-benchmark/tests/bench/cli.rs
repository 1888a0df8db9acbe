//! Flag errors, checked by running the binary: clear messages, exit status 2 for usage
//! errors and 1 for an unreachable cluster.

use std::time::Duration;

use crate::util;

const LIMIT: Duration = Duration::from_secs(60);

fn usage_error(args: &[&str], needle: &str) {
    let out = util::run(args, LIMIT);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    assert!(
        out.stderr.contains(needle),
        "{args:?}: stderr lacks {needle:?}: {}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
}

#[test]
fn zero_and_malformed_numbers_are_rejected() {
    usage_error(&["--workers", "0"], "--workers");
    usage_error(&["--duration", "0"], "--duration");
    usage_error(&["--key-size", "0"], "--key-size");
    usage_error(&["--cluster-timeout", "0"], "--cluster-timeout");
    usage_error(&["--workers", "many"], "invalid value 'many'");
    usage_error(&["--no-such-flag"], "--no-such-flag");
}

#[test]
fn inconsistent_modes_are_rejected() {
    usage_error(&["--join", "127.0.0.1:9001"], "--join needs --db");
    usage_error(&["--driver", "-c", "127.0.0.1:9001"], "--driver needs --db");
    usage_error(
        &["-d", "127.0.0.1:9001", "--driver"],
        "--driver needs --cluster",
    );
    usage_error(
        &["-c", "127.0.0.1"],
        "invalid address \"127.0.0.1\" in --cluster",
    );
    usage_error(&["-c", "127.0.0.1:1,127.0.0.1:1"], "listed twice");
}

#[test]
fn unknown_workload_warns_and_unreachable_cluster_times_out() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let dir = dqlite_testkit::TempDir::new("bench-cli").unwrap();
    let dir_s = dir.path().to_str().unwrap();
    let args = [
        "-w",
        "bogus",
        "-c",
        &addr,
        "--cluster-timeout",
        "1",
        "-D",
        dir_s,
    ];
    let out = util::run(&args, LIMIT);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains("unknown workload \"bogus\"; using kvwrite"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("waiting for the cluster"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&addr), "{}", out.stderr);
    assert!(!dir.path().join(&addr).exists(), "no results without a run");
}

#[test]
fn help_lists_the_go_dqlite_flags() {
    let out = util::run(&["--help"], LIMIT);
    assert!(out.status.success());
    for flag in [
        "--db",
        "--join",
        "--cluster",
        "--driver",
        "--dir",
        "--workload",
        "--duration",
        "--workers",
        "--key-size",
        "--value-size",
        "--cluster-timeout",
        "--retry-busy",
    ] {
        assert!(out.stdout.contains(flag), "--help lacks {flag}");
    }
}
