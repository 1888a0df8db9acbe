//! The batch pipeline at the writer level: transactions executed on the leader stay invisible
//! to other connections until their entries are applied and the batch (or its applied prefix,
//! when a snapshot cuts it) is committed; a leadership loss answers the pending ones with an
//! error and keeps every applied one.

use tokio::sync::oneshot;

use super::exec::Mode;
use super::tests::{Pair, LEADER};
use super::writer::{Outcome, StmtJob, WriterCmd};
use crate::command::{Op, Origin};
use crate::Result;

/// A transaction executed on the leader whose entry is not applied yet.
struct Executed {
    origin: Origin,
    /// It changed something (and so is, or will be, proposed).
    changed: bool,
    visible: oneshot::Receiver<Result<()>>,
}

async fn execute(p: &Pair, owner: u64, sql: &str) -> Executed {
    let job = StmtJob {
        owner,
        in_tx: false,
        sql: sql.into(),
        keyword: crate::sql::classify::keyword(sql),
        params: Vec::new(),
        mode: Mode::Exec,
        rows: None,
    };
    let out = p.leader.call(|tx| WriterCmd::Stmt(job, tx)).await;
    match out.expect("writer").expect("statement") {
        Outcome::Commit { tx, visible, .. } => Executed {
            origin: Origin { node: LEADER, tx },
            // Id 0: it changed nothing and only waits for what it read.
            changed: tx != 0,
            visible,
        },
        other => panic!("expected a commit, got {other:?}"),
    }
}

/// Applies `tx`'s share of its entry, which must have been proposed by now.
async fn apply(p: &Pair, leader: bool, tx: &Executed) {
    let w = if leader { &p.leader } else { &p.follower };
    Pair::apply(w, tx.origin, ops(p, tx)).await.expect("apply");
}

fn ops(p: &Pair, tx: &Executed) -> Vec<Op> {
    if tx.changed {
        p.proposed_ops(tx.origin.tx)
    } else {
        Vec::new()
    }
}

/// A pair whose database has the table `t (k INTEGER PRIMARY KEY, v)`.
async fn keyed_pair(name: &str) -> Pair {
    let p = Pair::new(name);
    p.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v)", vec![])
        .await
        .expect("create");
    p
}

/// The keys in `t` as seen by a new connection to `who`'s file.
fn keys(p: &Pair, who: &str) -> Vec<i64> {
    p.dump(who, "SELECT k FROM t ORDER BY k")
        .iter()
        .map(|s| {
            s.trim_start_matches("Integer(")
                .trim_end_matches(')')
                .parse()
                .expect("integer key")
        })
        .collect()
}

fn answered(tx: &mut Executed) -> Option<bool> {
    match tx.visible.try_recv() {
        Ok(r) => Some(r.is_ok()),
        Err(oneshot::error::TryRecvError::Empty) => None,
        Err(oneshot::error::TryRecvError::Closed) => Some(false),
    }
}

#[tokio::test]
async fn nothing_is_visible_before_apply_and_leadership_loss_keeps_applied() {
    let p = keyed_pair("pipeline").await;
    let before = p.entries().len();
    let mut txs = Vec::new();
    for k in 1..=4 {
        txs.push(execute(&p, k, &format!("INSERT INTO t VALUES ({k}, 'v{k}')")).await);
    }
    assert!(keys(&p, "leader").is_empty(), "executed, not applied");
    // Group commit: the first went out at once; the rest wait for its entry to come back.
    let ids = |r: std::ops::Range<usize>| txs[r].iter().map(|t| t.origin.tx).collect::<Vec<_>>();
    assert_eq!(p.entries()[before..], [ids(0..1)]);

    // The first entry is applied: the gathered ones go out as one entry, and are pending,
    // so nothing is committed yet.
    apply(&p, true, &txs[0]).await;
    assert_eq!(p.entries()[before..], [ids(0..1), ids(1..4)]);
    assert!(
        keys(&p, "leader").is_empty(),
        "batch waits for its pending entries"
    );
    assert_eq!(answered(&mut txs[0]), None);

    // A snapshot cuts the batch: the applied prefix only becomes visible.
    let _ = p.leader.call(WriterCmd::Flush).await;
    assert_eq!(keys(&p, "leader"), [1]);
    assert_eq!(answered(&mut txs[0]), Some(true));
    assert_eq!(answered(&mut txs[1]), None, "pending stays unanswered");

    // Another transaction runs on top of the re-applied pending ones, gathered while their
    // entry is in flight.
    txs.push(execute(&p, 5, "INSERT INTO t VALUES (5, 'v5')").await);
    apply(&p, true, &txs[1]).await;
    assert_eq!(keys(&p, "leader"), [1], "2 applied but 3..5 pending");
    assert_eq!(
        p.entries().len(),
        before + 2,
        "5 waits for the entry in flight"
    );

    // Leadership lost: the applied transaction survives, the pending ones fail unseen.
    let _ = p.leader.call(|r| WriterCmd::Abort(None, r)).await;
    assert_eq!(keys(&p, "leader"), [1, 2]);
    assert_eq!(answered(&mut txs[1]), Some(true));
    for tx in &mut txs[2..] {
        assert_eq!(answered(tx), Some(false), "pending answered with an error");
    }

    // If the entry in flight was committed after all, it arrives like any other entry; 5 was
    // never proposed.
    for tx in &txs[2..4] {
        apply(&p, true, tx).await;
    }
    for tx in &txs[..4] {
        apply(&p, false, tx).await;
    }
    assert_eq!(p.entries().len(), before + 2, "nothing more was proposed");
    assert_eq!(keys(&p, "leader"), [1, 2, 3, 4]);
    p.same_rows("SELECT * FROM t ORDER BY k");
}

#[tokio::test]
async fn entries_applied_together_fail_one_by_one() {
    let p = keyed_pair("together").await;
    let origin = |tx| Origin { node: 99, tx };
    let sql = |s: &str| vec![Op::Sql(s.to_owned())];
    let items = vec![
        (origin(1), sql("INSERT INTO t VALUES (1, 'a')")),
        (origin(2), sql("INSERT INTO missing VALUES (2)")),
        (origin(3), sql("INSERT INTO t VALUES (3, 'c')")),
    ];
    let results = p
        .follower
        .call(|r| WriterCmd::ApplyMany(items, r))
        .await
        .and_then(|r| r)
        .expect("writer");
    let ok: Vec<bool> = results.iter().map(|r| r.is_ok()).collect();
    assert_eq!(ok, [true, false, true]);
    assert_eq!(keys(&p, "follower"), [1, 3]);
    assert!(
        p.follower_fatal.reason().is_none(),
        "a deterministic SQL error stopped the node"
    );
}

/// Found by the nemesis suite (register workload, no faults): a write that changed nothing
/// (an UPDATE matching no row, an upsert of the value already there) ran on top of pending
/// transactions and was answered at once. Its client had read their uncommitted effects, so
/// a read by another client afterwards could return an older value (not linearizable), and
/// had the pending entries been lost, it would have observed writes that never happened.
#[tokio::test]
async fn a_statement_that_changed_nothing_waits_for_what_it_read() {
    let p = keyed_pair("nochange").await;
    let first = execute(&p, 1, "INSERT INTO t VALUES (1, 'a')").await;
    // Same value again: no change recorded, but it saw the pending row.
    let mut same = execute(
        &p,
        2,
        "INSERT INTO t VALUES (1, 'a') ON CONFLICT (k) DO UPDATE SET v = excluded.v",
    )
    .await;
    // Matches nothing given the pending row's value.
    let mut none = execute(&p, 3, "UPDATE t SET v = 'c' WHERE k = 1 AND v = 'zzz'").await;
    assert_eq!(
        answered(&mut same),
        None,
        "answered before what it read was committed"
    );
    assert_eq!(answered(&mut none), None);
    apply(&p, true, &first).await;
    assert_eq!(keys(&p, "leader"), [1]);
    assert_eq!(answered(&mut same), Some(true));
    assert_eq!(answered(&mut none), Some(true));

    // When the pending transaction is lost, so is the answer of what read it.
    let second = execute(&p, 1, "INSERT INTO t VALUES (2, 'b')").await;
    let mut reader = execute(&p, 2, "UPDATE t SET v = 'b' WHERE k = 2 AND v = 'b'").await;
    let _ = p.leader.call(|r| WriterCmd::Abort(None, r)).await;
    assert_eq!(answered(&mut reader), Some(false), "its outcome is unknown");
    drop(second);
}

/// Same class as above, for rows: a read-only statement the readers do not take (a PRAGMA)
/// runs on the writer, on top of the pending transactions. Its rows must not reach the
/// client before what they show is committed.
#[tokio::test]
async fn rows_read_on_top_of_pending_transactions_wait_for_them() {
    let p = keyed_pair("pendingrows").await;
    let first = execute(&p, 1, "PRAGMA user_version = 7").await;
    let (sink, mut streamed) = tokio::sync::mpsc::channel(8);
    let job = StmtJob {
        owner: 2,
        in_tx: false,
        sql: "PRAGMA user_version".into(),
        keyword: crate::sql::classify::Keyword::Other,
        params: Vec::new(),
        mode: Mode::Query,
        rows: Some(sink),
    };
    let out = p.leader.call(|tx| WriterCmd::Stmt(job, tx)).await;
    let out = out.expect("writer").expect("statement");
    assert!(
        streamed.try_recv().is_err(),
        "rows showing a pending write were streamed before it was committed"
    );
    let Outcome::Commit {
        ran, mut visible, ..
    } = out
    else {
        panic!("expected a wait for the pending transaction, got {out:?}");
    };
    assert!(!ran.rows.is_empty(), "the rows are held back in the answer");
    assert!(
        visible.try_recv().is_err(),
        "answered before the pending write was visible"
    );
    apply(&p, true, &first).await;
    assert!(matches!(visible.try_recv(), Ok(Ok(()))));
}
