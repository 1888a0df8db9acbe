//! The lease arithmetic: quorum times, terms, voter changes and the lease bound.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use super::*;

fn set(ids: &[u64]) -> BTreeSet<u64> {
    ids.iter().copied().collect()
}

fn acked(pairs: &[(u64, u64)]) -> HashMap<u64, u64> {
    pairs.iter().copied().collect()
}

#[test]
fn three_voters_need_one_follower() {
    let v = [set(&[1, 2, 3])];
    assert_eq!(quorum_time(1, &v, &acked(&[])), 0, "nobody answered yet");
    assert_eq!(quorum_time(1, &v, &acked(&[(2, 100)])), 100);
    assert_eq!(
        quorum_time(1, &v, &acked(&[(2, 100), (3, 250)])),
        250,
        "the leader and the most recent follower make a quorum"
    );
}

#[test]
fn five_voters_need_two_followers() {
    let v = [set(&[1, 2, 3, 4, 5])];
    let a = acked(&[(2, 100), (3, 300), (4, 200)]);
    assert_eq!(quorum_time(1, &v, &a), 200);
    assert_eq!(quorum_time(1, &v, &acked(&[(3, 300)])), 0);
}

#[test]
fn a_leader_outside_the_voters_counts_only_them() {
    let v = [set(&[2, 3, 4])];
    assert_eq!(quorum_time(1, &v, &acked(&[(2, 100), (3, 50)])), 50);
    assert_eq!(quorum_time(1, &v, &acked(&[(2, 100)])), 0);
}

#[test]
fn a_joint_configuration_takes_the_earlier_of_both() {
    let v = [set(&[1, 2, 3]), set(&[1, 4, 5])];
    assert_eq!(quorum_time(1, &v, &acked(&[(2, 300), (4, 100)])), 100);
    assert_eq!(
        quorum_time(1, &v, &acked(&[(2, 300)])),
        0,
        "the new configuration has no quorum yet"
    );
}

#[test]
fn a_lone_voter_is_always_confirmed_and_no_voters_never() {
    assert_eq!(quorum_time(1, &[set(&[1])], &acked(&[])), u64::MAX);
    assert_eq!(quorum_time(1, &[], &acked(&[])), 0);
}

#[test]
fn answers_count_only_for_this_leader_in_its_current_term() {
    let acks = Acks::new(1, Duration::from_secs(2));
    let voters = [set(&[1, 2, 3])];
    acks.answered(1, 5, 2, 100);
    assert_eq!(acks.quorum_time(), 0, "not leading yet");
    acks.lead(5, &voters);
    acks.answered(1, 4, 2, 100);
    acks.answered(9, 5, 2, 100);
    assert_eq!(acks.quorum_time(), 0, "another term or another leader");
    acks.answered(1, 5, 2, 100);
    assert_eq!(acks.quorum_time(), 100);
    acks.answered(1, 5, 2, 90);
    assert_eq!(
        acks.quorum_time(),
        100,
        "an older answer arriving late changes nothing"
    );
    acks.lead(5, &voters);
    assert_eq!(
        acks.quorum_time(),
        100,
        "the same term and voters keep the count"
    );
    acks.lead(6, &voters);
    assert_eq!(acks.quorum_time(), 0, "a new term starts afresh");
    acks.answered(1, 6, 3, 400);
    acks.lead(6, &[set(&[1, 2, 3, 4, 5])]);
    assert_eq!(acks.quorum_time(), 0, "new voters start afresh");
    acks.lead(0, &[]);
    acks.answered(1, 6, 3, 500);
    assert_eq!(acks.quorum_time(), 0, "not leading");
}

#[test]
fn the_lease_holds_until_the_quorum_time_plus_the_leader_lease() {
    let acks = Acks::new(1, Duration::from_secs(2));
    let lease = acks.lease().as_nanos() as u64;
    assert!(!acks.lease_holds(1), "no quorum: no lease");
    acks.lead(3, &[set(&[1, 2, 3])]);
    acks.answered(1, 3, 2, 1_000);
    assert!(acks.lease_holds(1_000));
    assert!(acks.lease_holds(1_000 + lease - 1));
    assert!(!acks.lease_holds(1_000 + lease));
}

#[test]
fn the_leader_lease_ends_before_any_follower_could_vote() {
    // A follower that took a request sent at T refuses votes until its own clock has run a
    // follower lease L from when it took it. With its clock DRIFT faster than the leader's,
    // that is L / (1 + DRIFT) on the leader's clock, which must outlast the leader's lease
    // by the margin, for every L.
    for ms in [60u64, 100, 200, 333, 500, 666, 1000, 2000, 10_000] {
        let l = Duration::from_millis(ms);
        let follower = l.div_f64(1.0 + DRIFT);
        assert!(
            leader_lease(l) + MARGIN <= follower,
            "follower lease {ms} ms: leader lease {:?} must end {MARGIN:?} before {follower:?}",
            leader_lease(l)
        );
    }
    assert_eq!(
        leader_lease(Duration::from_secs(2)),
        Duration::from_secs(2).div_f64(1.05) - MARGIN
    );
    assert_eq!(
        leader_lease(Duration::from_millis(10)),
        Duration::ZERO,
        "a lease shorter than the margin leaves nothing"
    );
}
