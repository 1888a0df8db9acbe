//! Multi-statement writes (`Db::execute("INSERT ..; INSERT ..")`): the server runs each
//! statement as its own transaction, so once the text was sent a failure may follow
//! statements that already committed. Such a text is never sent twice; single statements
//! (with a trailing `;`, strings or trigger bodies holding `;`) are still retried.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dqlite_client::{Cluster, Error};
use dqlite_proto::{code, request_kind, Request};

use crate::fake::{cluster, standard, Action, FakeNode, World};
use crate::{fail, fast, handler, leader_db};

const TWO_INSERTS: &str = "INSERT INTO t VALUES(1); INSERT INTO t VALUES(2)";

/// Total EXEC_SQL requests the given nodes received.
fn execs(world: &World, addrs: &[&str]) -> usize {
    addrs
        .iter()
        .map(|a| world.count(a, request_kind::EXEC_SQL))
        .sum()
}

#[tokio::test]
async fn a_batch_whose_second_statement_meets_not_leader_is_sent_once() {
    // The leader runs the first statement, hands leadership to `moved`, then refuses the
    // second with 10250.
    let moved = Arc::new(std::sync::Mutex::new(String::new()));
    let next = Arc::clone(&moved);
    let (world, nodes) = cluster(
        2,
        handler(move |w, me, req| match req {
            Request::ExecSql { sql, .. } if sql.contains(';') && w.leader() == me => {
                let to = next.lock().expect("lock").clone();
                if to == me {
                    return standard(w, me, req);
                }
                w.inserts.fetch_add(1, Ordering::SeqCst);
                w.set_leader(&to);
                fail(code::NOT_LEADER, "not leader")
            }
            _ => standard(w, me, req),
        }),
    )
    .await;
    world.set_leader(&nodes[0].addr);
    *moved.lock().expect("lock") = nodes[1].addr.clone();
    let db = Cluster::from_addresses(nodes.iter().map(|n| n.addr.clone()), fast())
        .expect("cluster")
        .open("db");
    let err = db.execute(TWO_INSERTS, ()).await.expect_err("10250");
    assert!(err.is_commit_unknown(), "{err}");
    assert_eq!(err.code(), Some(code::NOT_LEADER));
    assert_eq!(
        execs(&world, &[&nodes[0].addr, &nodes[1].addr]),
        1,
        "the batch must not be sent again"
    );
    assert_eq!(world.inserts.load(Ordering::SeqCst), 1, "applied once");
}

#[tokio::test]
async fn a_batch_answered_busy_is_not_retried_even_with_the_busy_policy() {
    let busy_left = Arc::new(AtomicUsize::new(1));
    let left = Arc::clone(&busy_left);
    let (world, nodes, db) = leader_db(
        handler(move |w, me, req| match req {
            Request::ExecSql { .. } if left.load(Ordering::SeqCst) > 0 => {
                left.fetch_sub(1, Ordering::SeqCst);
                fail(code::BUSY, "database is locked")
            }
            _ => standard(w, me, req),
        }),
        fast().with_retry_busy(true),
    )
    .await;
    let err = db.execute(TWO_INSERTS, ()).await.expect_err("busy");
    assert!(err.is_commit_unknown(), "{err}");
    assert!(
        matches!(&err, Error::CommitUnknown { source } if source.is_busy()),
        "{err}"
    );
    assert_eq!(world.count(&nodes[0].addr, request_kind::EXEC_SQL), 1);
}

#[tokio::test]
async fn a_batch_whose_connection_drops_is_unknown_and_not_resent() {
    let (world, nodes, db) = leader_db(
        handler(|w, me, req| match req {
            Request::ExecSql { .. } => Action::Close,
            _ => standard(w, me, req),
        }),
        fast(),
    )
    .await;
    let err = db.execute(TWO_INSERTS, ()).await.expect_err("closed");
    assert!(
        matches!(&err, Error::CommitUnknown { source } if source.is_connection_error()),
        "{err}"
    );
    assert_eq!(world.count(&nodes[0].addr, request_kind::EXEC_SQL), 1);
}

/// A node that answers the first EXEC_SQL it gets with 10250, then serves normally.
async fn refuses_once() -> (Arc<World>, Vec<FakeNode>, dqlite_client::Db) {
    let refused = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&refused);
    let (world, nodes, db) = leader_db(
        handler(move |w, me, req| match req {
            Request::ExecSql { .. } if seen.fetch_add(1, Ordering::SeqCst) == 0 => {
                fail(code::NOT_LEADER, "not leader")
            }
            _ => standard(w, me, req),
        }),
        fast().with_retry_budget(Duration::from_secs(2)),
    )
    .await;
    (world, nodes, db)
}

#[tokio::test]
async fn one_statement_with_semicolons_in_strings_comments_or_a_trigger_is_still_retried() {
    for sql in [
        "INSERT INTO t VALUES('a;b');",
        "INSERT INTO t VALUES(1); -- trailing; comment\n /* and; another */ ",
        "INSERT INTO \"odd;name\" VALUES(1) ;;",
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO u VALUES(1); \
         UPDATE u SET n = n + 1; END;",
        "create temp trigger tr after insert on t begin delete from u; end",
    ] {
        let (world, nodes, db) = refuses_once().await;
        db.execute(sql, ())
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        assert_eq!(
            world.count(&nodes[0].addr, request_kind::EXEC_SQL),
            2,
            "{sql}"
        );
    }
}

#[tokio::test]
async fn several_reads_in_one_text_are_still_retried() {
    let (world, nodes, db) = refuses_once().await;
    db.execute("SELECT 1; SELECT 2;", ())
        .await
        .expect("retried");
    assert_eq!(world.count(&nodes[0].addr, request_kind::EXEC_SQL), 2);
}
