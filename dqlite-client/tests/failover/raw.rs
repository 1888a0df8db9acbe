//! Unknown outcomes on the paths that do not retry: [`Conn`], [`Statement`] and
//! [`Transaction`] report a write that may have committed as `CommitUnknown`, exactly as
//! `Db` does, and leave reads' errors as they are.
//!
//! [`Conn`]: dqlite_client::Conn
//! [`Statement`]: dqlite_client::Statement
//! [`Transaction`]: dqlite_client::Transaction

use dqlite_client::{Db, Error};
use dqlite_proto::{code, Request, Response};

use crate::fake::{standard, Action, FakeNode};
use crate::{fail, fast, handler, leader_db};

/// A leader that answers with `action` every EXEC or QUERY of a prepared statement and every
/// SQL text that mentions `doomed` or is `COMMIT`; it prepares any statement (id 7). The
/// node runs until the returned handle drops.
async fn doomed(action: Action) -> (Vec<FakeNode>, Db) {
    let (_world, nodes, db) = leader_db(
        handler(move |w, me, req| match req {
            Request::ExecSql { sql, .. } | Request::QuerySql { sql, .. }
                if sql.contains("doomed") || sql == "COMMIT" =>
            {
                action.clone()
            }
            Request::Prepare { .. } => Action::Reply(vec![Response::Stmt {
                db: 0,
                id: 7,
                params: 0,
                tail_offset: None,
            }]),
            Request::Exec { .. } | Request::Query { .. } => action.clone(),
            _ => standard(w, me, req),
        }),
        fast(),
    )
    .await;
    (nodes, db)
}

fn lost() -> Action {
    fail(code::LEADERSHIP_LOST, "leadership lost")
}

fn unknown_because_of(err: &Error, what: fn(&Error) -> bool) -> bool {
    matches!(err, Error::CommitUnknown { source } if what(source))
}

#[tokio::test]
async fn a_conn_write_answered_leadership_lost_is_commit_unknown() {
    let (_node, db) = doomed(lost()).await;
    let mut conn = db.acquire().await.expect("conn");
    let err = conn
        .execute("INSERT INTO doomed VALUES(1)", ())
        .await
        .expect_err("10506");
    assert!(err.is_commit_unknown() && err.is_leadership_lost(), "{err}");
    let err = conn
        .query("DELETE FROM doomed RETURNING *", ())
        .await
        .expect_err("10506 on a write sent as a query");
    assert!(err.is_commit_unknown(), "{err}");
}

#[tokio::test]
async fn a_conn_write_whose_connection_drops_is_commit_unknown() {
    let (_node, db) = doomed(Action::Close).await;
    let mut conn = db.acquire().await.expect("conn");
    let err = conn
        .execute("INSERT INTO doomed VALUES(1)", ())
        .await
        .expect_err("closed");
    assert!(
        unknown_because_of(&err, Error::is_connection_error),
        "{err}"
    );
    // The connection is now out of step: the next request is refused before it is sent,
    // so its outcome is known (nothing ran).
    let err = conn
        .execute("INSERT INTO t VALUES(1)", ())
        .await
        .expect_err("broken");
    assert!(
        !err.is_commit_unknown() && err.is_connection_error(),
        "{err}"
    );
}

#[tokio::test]
async fn a_conn_read_that_meets_the_same_is_not_commit_unknown() {
    let (_node, db) = doomed(lost()).await;
    let mut conn = db.acquire().await.expect("conn");
    let err = conn
        .query("SELECT * FROM doomed", ())
        .await
        .expect_err("10506");
    assert!(
        !err.is_commit_unknown() && err.is_leadership_lost(),
        "{err}"
    );
    let err = conn
        .execute("SELECT * FROM doomed", ())
        .await
        .expect_err("10506");
    assert!(
        matches!(&err, Error::Server { .. }) && err.is_leadership_lost(),
        "{err}"
    );

    let (_node, db) = doomed(Action::Close).await;
    let mut conn = db.acquire().await.expect("conn");
    let err = conn
        .query("SELECT * FROM doomed", ())
        .await
        .expect_err("closed");
    assert!(
        !err.is_commit_unknown() && err.is_connection_error(),
        "{err}"
    );
}

#[tokio::test]
async fn a_prepared_write_whose_connection_drops_is_commit_unknown_and_a_read_is_not() {
    let (_node, db) = doomed(Action::Close).await;
    let mut conn = db.acquire().await.expect("conn");
    let mut stmt = conn
        .prepare("INSERT INTO t VALUES(?)")
        .await
        .expect("prepare");
    let err = stmt.execute((1,)).await.expect_err("closed");
    assert!(
        unknown_because_of(&err, Error::is_connection_error),
        "{err}"
    );

    let (_node, db) = doomed(lost()).await;
    let mut conn = db.acquire().await.expect("conn");
    let mut stmt = conn.prepare("SELECT * FROM t").await.expect("prepare");
    let err = stmt.query_all(()).await.expect_err("10506");
    assert!(
        !err.is_commit_unknown() && err.is_leadership_lost(),
        "{err}"
    );
    drop(stmt);
    let mut stmt = conn.prepare("UPDATE t SET n = 1").await.expect("prepare");
    let err = stmt.execute(()).await.expect_err("10506");
    assert!(err.is_commit_unknown() && err.is_leadership_lost(), "{err}");
}

#[tokio::test]
async fn a_commit_sent_through_a_transaction_is_unknown_and_wrapped_once() {
    let (_node, db) = doomed(lost()).await;
    let mut tx = db.begin().await.expect("begin");
    let err = tx.execute("COMMIT -- doomed", ()).await.expect_err("10506");
    assert!(
        unknown_because_of(&err, |e| matches!(e, Error::Server { .. })),
        "{err}"
    );

    let mut tx = db.begin().await.expect("begin");
    tx.execute("UPDATE t SET n = 1", ()).await.expect("update");
    let err = tx.commit().await.expect_err("10506");
    assert!(
        unknown_because_of(&err, |e| matches!(e, Error::Server { .. })),
        "{err}"
    );

    let (_node, db) = doomed(Action::Close).await;
    let mut tx = db.begin().await.expect("begin");
    let err = tx
        .execute("INSERT INTO doomed VALUES(1); COMMIT", ())
        .await
        .expect_err("closed");
    assert!(
        unknown_because_of(&err, Error::is_connection_error),
        "{err}"
    );
}

#[tokio::test]
async fn a_statement_inside_a_transaction_that_cannot_commit_keeps_its_error() {
    // Nothing commits before COMMIT: the server rolls the transaction back when the
    // connection goes, so the outcome is known and `Db::transaction` may run it again.
    let (_node, db) = doomed(Action::Close).await;
    let mut tx = db.begin().await.expect("begin");
    let err = tx
        .execute("INSERT INTO doomed VALUES(1)", ())
        .await
        .expect_err("closed");
    assert!(
        !err.is_commit_unknown() && err.is_connection_error(),
        "{err}"
    );
}
