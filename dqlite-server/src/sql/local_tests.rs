//! Reads on the calling thread: what is answered here, what is handed back, and that a
//! replaced or dropped database is never read through an old connection.

use std::path::Path;
use std::sync::Arc;

use dqlite_proto::{code, Value};

use super::limit::SqlLimits;
use super::local::{self, Local};
use super::registry::{remove_files, Registry};
use super::writer::WriterEnv;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("dqlite-local-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Writes through a connection of its own (the database's writer stays idle).
fn write(path: &Path, sql: &str) {
    let conn = super::open_connection(path).expect("open");
    conn.execute_batch(sql).expect("write");
}

fn rows(local: Local) -> bytes::BytesMut {
    match local {
        Local::Rows(b) => b,
        other => panic!("expected rows answered here, got {other:?}"),
    }
}

#[test]
fn short_reads_are_answered_here_and_long_or_writing_ones_are_handed_back() {
    let dir = temp_dir("kinds");
    let registry = Registry::new(&dir, 1, WriterEnv::standalone(1)).expect("registry");
    let db = registry.ensure("d").expect("db");
    write(
        &db.path,
        "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT);
         INSERT INTO t VALUES (1, 'one');
         WITH RECURSIVE c(x) AS (SELECT 2 UNION ALL SELECT x + 1 FROM c WHERE x < 2000)
         INSERT INTO t SELECT x, printf('%0100d', x) FROM c;",
    );
    let limits = Arc::new(SqlLimits::default());
    let point = "SELECT v FROM t WHERE k = ?";
    let one = rows(local::query(&db, &limits, 7, point, &[Value::Integer(1)]).expect("read"));
    assert!(
        one.windows(3).any(|w| w == b"one"),
        "the row is in the answer"
    );
    // Served again from the cached statement, with other parameters.
    rows(local::query(&db, &limits, 7, point, &[Value::Integer(2)]).expect("read again"));

    // More rows than one batch, and a statement that would run forever, go elsewhere.
    let all = local::query(&db, &limits, 7, "SELECT * FROM t", &[]).expect("read all");
    assert!(matches!(all, Local::TooLong), "{all:?}");
    let forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
                   SELECT count(*) FROM c";
    let long = local::query(&db, &limits, 7, forever, &[]).expect("read forever");
    assert!(matches!(long, Local::TooLong), "{long:?}");

    // A statement that writes belongs on the writer; a bad one fails here as it would there.
    let insert = local::query(&db, &limits, 7, "INSERT INTO t VALUES (0, 'x')", &[]);
    assert!(matches!(insert, Ok(Local::NeedsWriter)), "{insert:?}");
    let bad = local::query(&db, &limits, 7, "SELECT nope FROM t", &[]).expect_err("no column");
    assert_eq!(bad.code(), Some(code::ERROR), "{bad}");
    let params = local::query(
        &db,
        &limits,
        7,
        point,
        &[Value::Integer(1), Value::Integer(2)],
    );
    assert!(params.is_err(), "a QUERY with too many parameters fails");
    let tail = local::query(&db, &limits, 7, "SELECT 1; SELECT 2", &[]);
    assert!(tail.is_err(), "a read with a second statement fails");

    assert_eq!(
        local::prepare(&db, &limits, point).expect("prepare"),
        (1, point.len())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_replaced_database_is_read_through_a_new_connection() {
    let dir = temp_dir("replaced");
    let limits = Arc::new(SqlLimits::default());
    let registry = Registry::new(&dir, 1, WriterEnv::standalone(1)).expect("registry");
    let old = registry.ensure("d").expect("db");
    write(
        &old.path,
        "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('old');",
    );
    let answer = rows(local::query(&old, &limits, 1, "SELECT v FROM t", &[]).expect("read"));
    assert!(answer.windows(3).any(|w| w == b"old"));

    // The file is replaced, as a snapshot install does, and a node restarted in the same
    // process opens it again: a new database object, a new file, a new registry.
    registry.close_all().await;
    drop(registry);
    let path = old.path.clone();
    drop(old);
    remove_files(&path).expect("remove");
    write(
        &path,
        "CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('new');",
    );
    let registry = Registry::new(&dir, 1, WriterEnv::standalone(1)).expect("registry again");
    let new = registry.ensure("d").expect("db again");
    let answer = rows(local::query(&new, &limits, 1, "SELECT v FROM t", &[]).expect("read"));
    assert!(
        answer.windows(3).any(|w| w == b"new") && !answer.windows(3).any(|w| w == b"old"),
        "the new file is read, not the old one through a kept connection"
    );
    assert_eq!(local::open_here(), 1, "the old connection was closed");

    // A database that is gone has its connection closed when this thread opens another.
    let other = registry.ensure("e").expect("db e");
    write(&other.path, "CREATE TABLE t (v TEXT);");
    registry.close_all().await;
    drop(new);
    rows(local::query(&other, &limits, 1, "SELECT v FROM t", &[]).expect("read e"));
    assert_eq!(
        local::open_here(),
        1,
        "only the live database's connection is kept"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
