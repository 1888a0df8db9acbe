//! Fail-stop on the writer: an entry that cannot apply on this node alone (a diverged
//! replica, an environmental error) stops the writer and raises the node's fatal signal (an
//! error every node meets the same way stays that entry's result: see
//! `pipeline_tests::entries_applied_together_fail_one_by_one`).

use super::tests::Pair;
use super::writer::WriterCmd;
use crate::command::{Op, Origin};

#[tokio::test]
async fn a_diverged_replica_stops_instead_of_taking_the_leaders_row() {
    let p = Pair::new("diverged");
    p.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)", vec![])
        .await
        .expect("create");
    p.exec("INSERT INTO t VALUES (1, 'a'), (2, 'b')", vec![])
        .await
        .expect("insert");
    // The follower loses a row behind raft's back.
    p.tamper("follower", "DELETE FROM t WHERE k = 2");
    let err = p
        .exec("UPDATE t SET v = 'B' WHERE k = 2", vec![])
        .await
        .expect_err("applying onto the diverged replica must fail");
    assert!(
        matches!(err, crate::Error::Internal(ref m) if m.contains("replica diverged") && m.contains("table t")),
        "unexpected error: {err}"
    );
    let why = p.follower_fatal.reason().expect("the follower must stop");
    assert!(why.contains("replica diverged"), "reason: {why}");
    // The follower applies nothing more: it never carries on with different data.
    let later = p
        .follower
        .call(|r| WriterCmd::ApplyMany(vec![(origin(99), sql("INSERT INTO t VALUES (3, 'c')"))], r))
        .await
        .expect("writer answers");
    assert!(later.is_err(), "a stopped writer applied an entry");
    assert_eq!(
        p.dump("follower", "SELECT k FROM t ORDER BY k"),
        ["Integer(1)"],
        "nothing was applied after the stop"
    );
}

#[tokio::test]
async fn an_inserted_row_that_already_exists_is_divergence_too() {
    let p = Pair::new("diverged-insert");
    p.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)", vec![])
        .await
        .expect("create");
    p.tamper("follower", "INSERT INTO t VALUES (5, 'stray')");
    p.exec("INSERT INTO t VALUES (5, 'leader')", vec![])
        .await
        .expect_err("must not overwrite the stray row silently");
    assert!(
        p.follower_fatal.reason().is_some(),
        "the follower must stop"
    );
}

#[test]
fn errors_are_classified_by_cause() {
    use dqlite_proto::code;
    let sql = |code| crate::Error::Sql {
        code,
        message: String::new(),
    };
    for deterministic in [
        code::ERROR,
        code::CONSTRAINT_UNIQUE,
        code::TOOBIG,
        code::MISMATCH,
    ] {
        assert!(sql(deterministic).is_deterministic(), "{deterministic}");
    }
    for local in [
        code::FULL,
        code::IOERR,
        code::IOERR_WRITE,
        code::BUSY,
        code::RAFT_NOT_LEADER,
    ] {
        assert!(!sql(local).is_deterministic(), "{local}");
    }
    assert!(!crate::Error::Diverged("t".into()).is_deterministic());
    assert!(!crate::Error::internal("x").is_deterministic());
}

fn origin(tx: u64) -> Origin {
    Origin { node: 42, tx }
}

fn sql(s: &str) -> Vec<Op> {
    vec![Op::Sql(s.to_owned())]
}
