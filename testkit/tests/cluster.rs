//! The reference cluster helper itself: start-up, leader, kill/restart, clean-up by PID.

use std::path::Path;
use std::time::Duration;

use dqlite_testkit::reference_cluster_or_skip;

fn pid_alive(pid: u32) -> bool {
    // A reaped process has no /proc entry; a zombie would show state Z.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.split_whitespace().nth(2).is_none_or(|s| s != "Z"),
        Err(_) => false,
    }
}

#[test]
fn starts_three_voters_and_cleans_up_on_drop() {
    let Some(mut cluster) = reference_cluster_or_skip(3) else {
        return;
    };
    let members = cluster.members().expect(".cluster");
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(
        members.iter().all(|(_, role)| role == "voter"),
        "{members:?}"
    );
    let leader = cluster.leader().expect(".leader").expect("a leader");
    assert!(
        cluster.addrs().contains(&leader),
        "{leader} not in {:?}",
        cluster.addrs()
    );
    let pids = cluster.pids();
    let dir = cluster.dir().to_path_buf();
    assert_eq!(pids.len(), 3);
    assert!(pids.iter().all(|&p| pid_alive(p)));
    drop(cluster);
    for pid in pids {
        assert!(!pid_alive(pid), "node {pid} still running after drop");
    }
    assert!(!Path::new(&dir).exists(), "{dir:?} not removed");
}

#[test]
fn a_killed_leader_is_replaced_and_comes_back_after_restart() {
    let Some(mut cluster) = reference_cluster_or_skip(3) else {
        return;
    };
    let leader = cluster.leader().expect(".leader").expect("a leader");
    let i = cluster
        .addrs()
        .iter()
        .position(|a| *a == leader)
        .expect("member");
    cluster.kill(i);
    assert!(!cluster.is_running(i));
    let new_leader = cluster
        .wait_for_leader(Duration::from_secs(30))
        .expect("new leader");
    assert_ne!(new_leader, leader);
    cluster.restart(i).expect("restart");
    assert!(cluster.is_running(i));
    let members = cluster.members().expect(".cluster");
    assert_eq!(members.len(), 3, "{members:?}");
}
