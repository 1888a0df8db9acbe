//! The reference cluster helper itself, against the real binaries: start-up, roles and
//! leader, clean-up by PID on drop, kill and restart.

use std::path::Path;
use std::time::{Duration, Instant};

use dqlite_testkit::{reference_cluster_or_skip, ReferenceCluster};

/// True if `/proc/<pid>` exists and the process is not a zombie.
fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z"),
        Err(_) => false,
    }
}

fn voters(cluster: &ReferenceCluster) -> usize {
    let members = cluster.members().expect(".cluster");
    members.iter().filter(|m| m.is_voter()).count()
}

#[test]
fn starts_three_voters_and_cleans_up_on_drop() {
    let started = Instant::now();
    let Some(cluster) = reference_cluster_or_skip(3) else {
        return;
    };
    eprintln!("3-node reference cluster ready in {:?}", started.elapsed());
    let members = cluster.members().expect(".cluster");
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(members.iter().all(|m| m.is_voter()), "{members:?}");
    let mut listed: Vec<String> = members.iter().map(|m| m.address.clone()).collect();
    let mut addrs = cluster.addrs();
    listed.sort();
    addrs.sort();
    assert_eq!(listed, addrs);
    let leader = cluster.leader().expect(".leader").expect("a leader");
    assert!(
        cluster.addrs().contains(&leader),
        "{leader} not in {addrs:?}"
    );
    for i in 0..3 {
        assert!(cluster.log_path(i).is_file(), "no log for node {i}");
        assert!(cluster.log_path(i).starts_with(cluster.dir()));
    }

    let pids = cluster.pids();
    let dir = cluster.dir().to_path_buf();
    assert_eq!(pids.len(), 3);
    assert!(pids.iter().all(|&p| pid_alive(p)), "{pids:?}");
    drop(cluster);
    for pid in pids {
        assert!(!pid_alive(pid), "node {pid} still running after drop");
    }
    assert!(!Path::new(&dir).exists(), "{} not removed", dir.display());
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
        .expect("the leader is a member");
    let pid = cluster.pids()[i];
    cluster.kill(i);
    assert!(!cluster.is_running(i));
    assert!(!pid_alive(pid), "killed node {pid} still alive");
    assert_eq!(cluster.pids().len(), 2);

    let new_leader = cluster
        .wait_for_leader(Duration::from_secs(30))
        .expect("a new leader");
    assert_ne!(new_leader, leader);
    assert!(cluster.addrs().contains(&new_leader));

    cluster.restart(i).expect("restart");
    assert!(cluster.is_running(i));
    assert_eq!(cluster.pids().len(), 3);
    let seen_by_node = cluster
        .wait_for_node(i, Duration::from_secs(30))
        .expect("the restarted node rejoins");
    assert_eq!(seen_by_node.len(), 3, "{seen_by_node:?}");
    assert_eq!(voters(&cluster), 3);
}

#[test]
fn a_single_node_cluster_leads_itself() {
    let Some(cluster) = reference_cluster_or_skip(1) else {
        return;
    };
    let members = cluster.members().expect(".cluster");
    assert_eq!(members.len(), 1, "{members:?}");
    assert!(members[0].is_voter());
    assert_eq!(
        cluster.leader().expect(".leader").as_deref(),
        Some(cluster.addr(0))
    );
}

#[test]
fn the_cluster_can_be_shared_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ReferenceCluster>();
}

#[test]
fn zero_nodes_is_an_error() {
    let err = ReferenceCluster::start(0).expect_err("0 nodes");
    assert!(err.to_string().contains("at least one node"), "{err}");
}
