//! The writer and leadership: it runs client statements only while the node serves, only
//! in the term its batch began in, and a transaction raft refused leaves nothing behind.

use std::sync::{Arc, OnceLock};

use dqlite_proto::code;

use super::exec::Mode;
use super::tests::Pair;
use super::writer::{Outcome, Proposer, StmtJob, Writer, WriterCmd, WriterEnv, WriterHandle};
use crate::serving::Serving;

fn job(sql: &str) -> StmtJob {
    StmtJob {
        owner: 7,
        in_tx: false,
        sql: sql.into(),
        keyword: crate::sql::classify::keyword(sql),
        params: vec![],
        mode: Mode::Exec,
        rows: None,
    }
}

async fn run(w: &WriterHandle, sql: &str) -> crate::Result<Outcome> {
    w.call(|r| WriterCmd::Stmt(job(sql), r)).await?
}

fn code_of(res: crate::Result<Outcome>) -> Option<u64> {
    match res {
        Ok(_) => None,
        Err(e) => e.code(),
    }
}

#[tokio::test]
async fn a_node_that_does_not_serve_runs_no_statement() {
    let p = Pair::new("term-not-serving");
    p.exec("CREATE TABLE t (k INTEGER PRIMARY KEY)", vec![])
        .await
        .expect("create");
    p.serving.set_leader(None, false);
    let res = run(&p.leader, "INSERT INTO t VALUES (1)").await;
    assert_eq!(code_of(res), Some(code::NOT_LEADER));
    p.serving.set_leader(Some(1), true);
    assert!(p.dump("leader", "SELECT k FROM t").is_empty());
}

#[tokio::test]
async fn a_new_term_rolls_back_what_an_old_term_left_in_the_batch() {
    let p = Pair::new("term-change");
    p.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)", vec![])
        .await
        .expect("create");
    // Executed and proposed in term 1, never applied.
    let first = run(&p.leader, "INSERT INTO t VALUES (1, 'a')")
        .await
        .expect("insert");
    let Outcome::Commit { visible, .. } = first else {
        panic!("the insert should have been proposed");
    };
    // Leadership lost and won again, seen as one change (no abort reached the writer).
    p.serving.set_leader(Some(2), true);
    let second = run(&p.leader, "UPDATE t SET v = 'b' WHERE k = 1")
        .await
        .expect("update");
    assert!(
        !matches!(second, Outcome::Commit { .. }),
        "the update ran on top of a transaction from the old term"
    );
    assert!(
        !matches!(visible.await, Ok(Ok(()))),
        "the old term's transaction must not be reported visible"
    );
}

#[tokio::test]
async fn a_transaction_raft_refuses_is_rolled_back_at_once() {
    let dir = std::env::temp_dir().join(format!("dqlite-server-refused-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let refuse: Proposer = Arc::new(|_| false);
    let slot = Arc::new(OnceLock::new());
    let _ = slot.set(refuse);
    let env = WriterEnv {
        proposer: slot,
        serving: Arc::new(Serving::leader_of(1)),
        ..WriterEnv::standalone(1)
    };
    let w = Writer::spawn(&dir.join("db"), "refused", env).expect("writer");
    // CREATE is refused too (it has changes): run it outside raft's reach first.
    let conn = rusqlite::Connection::open(dir.join("db")).expect("open");
    conn.execute_batch("CREATE TABLE t (k INTEGER PRIMARY KEY)")
        .expect("create");
    drop(conn);
    for attempt in 0..2 {
        // The client's answer comes through the transaction's visibility signal.
        let res = match run(&w, "INSERT INTO t VALUES (1)").await {
            Ok(Outcome::Commit { visible, .. }) => visible.await.expect("answered"),
            Ok(other) => panic!("expected a proposed transaction, got {other:?}"),
            Err(e) => Err(e),
        };
        // Not a UNIQUE failure on the second attempt: the first left nothing behind.
        assert_eq!(
            res.err().and_then(|e| e.code()),
            Some(code::NOT_LEADER),
            "attempt {attempt}"
        );
    }
    let _ = w.call(WriterCmd::Close).await;
    let _ = std::fs::remove_dir_all(&dir);
}
