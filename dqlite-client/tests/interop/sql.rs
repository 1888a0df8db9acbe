//! SQL features against the C server: CRUD, every value type, large results, early drops,
//! prepared statements, transactions, errors, concurrent writers, admin calls.

use std::sync::Arc;

use dqlite_client::{params, Cluster, Db, Error, Role, Value, ValueType};
use dqlite_proto::code;
use dqlite_testkit::reference_cluster_or_skip;

use crate::{client, config};

#[tokio::test]
async fn sql_features_against_c_dqlite() {
    let Some(reference) = reference_cluster_or_skip(3) else {
        return;
    };
    let cluster = client(&reference, config());
    let db = cluster.open("features");
    crud(&db).await;
    value_types(&db).await;
    large_result_and_early_drop(&db).await;
    prepared_statements(&db).await;
    transactions(&db).await;
    errors(&db).await;
    admin(&cluster, &reference.addrs()).await;
}

async fn crud(db: &Db) {
    db.execute(
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
        (),
    )
    .await
    .expect("create");
    let r = db
        .execute("INSERT INTO people(name) VALUES (?), (?)", ("ada", "bob"))
        .await
        .expect("insert");
    assert_eq!((r.last_insert_id, r.rows_affected), (2, 2));
    let r = db
        .execute("UPDATE people SET name = upper(name) WHERE id = ?", (1,))
        .await
        .expect("update");
    assert_eq!(r.rows_affected, 1);
    let names: Vec<String> = db
        .query_all("SELECT name FROM people ORDER BY id", ())
        .await
        .expect("select")
        .iter()
        .map(|r| r.get("name").expect("text"))
        .collect();
    assert_eq!(names, ["ADA", "bob"]);
    assert_eq!(
        db.execute("DELETE FROM people WHERE name = ?", ("bob",))
            .await
            .expect("delete")
            .rows_affected,
        1
    );
    assert!(db
        .query_opt("SELECT * FROM people WHERE name = 'bob'", ())
        .await
        .expect("select")
        .is_none());
    assert!(matches!(
        db.query_one("SELECT * FROM people WHERE id = 99", ()).await,
        Err(Error::NoRows)
    ));
}

async fn value_types(db: &Db) {
    db.execute(
        "CREATE TABLE v (i INTEGER, f REAL, t TEXT, b BLOB, n, ok BOOLEAN, at DATETIME)",
        (),
    )
    .await
    .expect("create");
    let blob: Vec<u8> = (0..=255).collect();
    db.execute(
        "INSERT INTO v VALUES (?, ?, ?, ?, ?, ?, ?)",
        params![
            i64::MIN,
            2.5f64,
            "héllo ✓",
            blob.clone(),
            None::<i64>,
            true,
            Value::Iso8601("2018-08-01 00:00:00+00:00".into())
        ],
    )
    .await
    .expect("insert all types");
    db.execute(
        "INSERT INTO v VALUES (1, 0.0, '', x'', NULL, NULL, NULL)",
        (),
    )
    .await
    .expect("insert nulls");
    let rows = db
        .query_all("SELECT * FROM v ORDER BY rowid", ())
        .await
        .expect("select");
    let r = &rows[0];
    assert_eq!(r.get::<i64, _>("i").expect("i"), i64::MIN);
    assert_eq!(r.get::<f64, _>("f").expect("f"), 2.5);
    assert_eq!(r.get::<String, _>("t").expect("t"), "héllo ✓");
    assert_eq!(r.get::<Vec<u8>, _>("b").expect("b"), blob);
    assert_eq!(r.get::<Option<i64>, _>("n").expect("n"), None);
    assert!(r.get::<bool, _>("ok").expect("ok"));
    assert_eq!(
        r.value("at").expect("at"),
        &Value::Iso8601("2018-08-01 00:00:00+00:00".into())
    );
    assert_eq!(r.value_types()[5], ValueType::Boolean);
    // The server's quirks (docs/wire-protocol.md §4): NULL BOOLEAN is false, NULL DATETIME is "".
    let r = &rows[1];
    assert!(!r.get::<bool, _>("ok").expect("ok"));
    assert_eq!(r.get::<Option<String>, _>("at").expect("at"), None);
    assert_eq!(r.get::<String, _>("t").expect("t"), "");
    assert!(
        r.get::<i64, _>("n").is_err(),
        "NULL into i64 is a conversion error"
    );
}

async fn large_result_and_early_drop(db: &Db) {
    db.execute("CREATE TABLE big (n INTEGER PRIMARY KEY, s TEXT)", ())
        .await
        .expect("create");
    let fill = "INSERT INTO big WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c \
                WHERE x < 100000) SELECT x, printf('row %d', x) FROM c";
    assert_eq!(
        db.execute(fill, ()).await.expect("fill").rows_affected,
        100_000
    );
    let mut rows = db
        .query("SELECT n, s FROM big ORDER BY n", ())
        .await
        .expect("query");
    let (mut count, mut sum) = (0i64, 0i64);
    while let Some(row) = rows.next().await.expect("row") {
        let n: i64 = row.get(0).expect("n");
        assert_eq!(row.get::<String, _>(1).expect("s"), format!("row {n}"));
        count += 1;
        sum += n;
    }
    assert_eq!((count, sum), (100_000, 100_000 * 100_001 / 2));
    // Drop several large results after one row; the pool keeps working.
    for _ in 0..3 {
        let mut rows = db.query("SELECT n FROM big", ()).await.expect("query");
        assert!(rows.next().await.expect("row").is_some());
    }
    let row = db
        .query_one("SELECT count(*) FROM big", ())
        .await
        .expect("count");
    assert_eq!(row.get::<i64, _>(0).expect("int"), 100_000);
}

async fn prepared_statements(db: &Db) {
    let mut conn = db.acquire().await.expect("acquire");
    let mut insert = conn
        .prepare("INSERT INTO people(name) VALUES (?)")
        .await
        .expect("prepare");
    assert_eq!(insert.parameter_count(), 1);
    for name in ["c1", "c2", "c3"] {
        insert.execute((name,)).await.expect("exec");
    }
    drop(insert);
    let mut select = conn
        .prepare("SELECT name FROM people WHERE name LIKE ? ORDER BY id")
        .await
        .expect("prepare");
    let rows = select.query_all(("c%",)).await.expect("query");
    assert_eq!(rows.len(), 3);
    let again = select.query_one(("c2",)).await.expect("query again");
    assert_eq!(again.get::<String, _>(0).expect("name"), "c2");
}

async fn transactions(db: &Db) {
    let mut tx = db.begin().await.expect("begin");
    tx.execute("INSERT INTO people(name) VALUES ('tx1')", ())
        .await
        .expect("insert");
    tx.commit().await.expect("commit");
    let mut tx = db.begin().await.expect("begin");
    tx.execute("INSERT INTO people(name) VALUES ('tx2')", ())
        .await
        .expect("insert");
    let seen = tx
        .query_one("SELECT count(*) FROM people WHERE name = 'tx2'", ())
        .await
        .expect("inside");
    assert_eq!(seen.get::<i64, _>(0).expect("n"), 1);
    tx.rollback().await.expect("rollback");
    {
        let mut tx = db.begin().await.expect("begin");
        tx.execute("INSERT INTO people(name) VALUES ('tx3')", ())
            .await
            .expect("insert");
    } // dropped: rolled back
    let total: i64 = db
        .transaction(|tx| {
            Box::pin(async move {
                tx.execute("INSERT INTO people(name) VALUES ('tx4')", ())
                    .await?;
                tx.query_one("SELECT count(*) FROM people WHERE name LIKE 'tx%'", ())
                    .await?
                    .get(0)
            })
        })
        .await
        .expect("transaction helper");
    assert_eq!(total, 2, "tx1 and tx4 committed; tx2 and tx3 rolled back");
    assert!(
        db.execute("BEGIN", ()).await.is_err(),
        "BEGIN on a pooled connection is refused"
    );
}

async fn errors(db: &Db) {
    // More than 255 parameters need a >= 1.12 server; against 1.11 the client refuses them
    // after its probe instead of sending a tuple 1.11 would misparse (docs/wire-protocol.md §8.3).
    let many: Vec<Value> = (0..300).map(Value::Integer).collect();
    let sql = format!("SELECT {}", vec!["?"; 300].join(", "));
    let err = db
        .query_all(&sql, many)
        .await
        .expect_err("1.11 has no schema-1 tuples");
    assert!(
        matches!(&err, Error::InvalidRequest(m) if m.contains("1.12")),
        "{err}"
    );
    let max: Vec<Value> = (0..255).map(Value::Integer).collect();
    let sql = format!("SELECT {}", vec!["?"; 255].join(", "));
    let row = db.query_one(&sql, max).await.expect("255 parameters");
    assert_eq!(row.get::<i64, _>(254).expect("last"), 254);
    // Several statements in one EXEC_SQL run in order; the result describes the last.
    let r = db
        .execute(
            "INSERT INTO people(name) VALUES ('m1'); INSERT INTO people(name) VALUES ('m2')",
            (),
        )
        .await
        .expect("multi-statement");
    assert_eq!(r.rows_affected, 1);
    let n: i64 = db
        .query_one("SELECT count(*) FROM people WHERE name IN ('m1', 'm2')", ())
        .await
        .expect("n")
        .get(0)
        .expect("n");
    assert_eq!(n, 2);
    let err = db
        .execute("INSERT INTO people(name) VALUES ('ADA')", ())
        .await
        .expect_err("unique");
    assert!(
        err.is_constraint() && err.code() == Some(code::CONSTRAINT_UNIQUE),
        "{err}"
    );
    let err = db.execute("INSERT INTO", ()).await.expect_err("syntax");
    assert_eq!(err.code(), Some(code::ERROR), "{err}");
    let err = db
        .query_all("SELECT * FROM nosuch", ())
        .await
        .expect_err("no table");
    assert!(err.to_string().contains("no such table: nosuch"), "{err}");
    let err = db
        .query_all("SELECT ?", params![1u64 << 63])
        .await
        .expect_err("out of range");
    assert!(matches!(err, Error::Conversion { .. }), "{err}");
}

async fn admin(cluster: &Cluster, addrs: &[String]) {
    let nodes = cluster.nodes().await.expect("cluster");
    assert_eq!(nodes.len(), 3);
    assert!(nodes.iter().all(|n| n.role == Some(Role::Voter)));
    let leader = cluster.leader_address().await.expect("leader");
    assert!(addrs.contains(&leader));
    let meta = cluster.describe(&addrs[0]).await.expect("describe");
    cluster
        .set_weight(&addrs[0], meta.weight + 1)
        .await
        .expect("weight");
    assert_eq!(
        cluster.describe(&addrs[0]).await.expect("describe").weight,
        meta.weight + 1
    );
    let files = cluster.dump("features").await.expect("dump");
    assert_eq!(
        files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["features", "features-wal"]
    );
}

#[tokio::test]
async fn nine_concurrent_writers_busy_by_default_and_all_succeed_with_the_busy_policy() {
    let Some(reference) = reference_cluster_or_skip(3) else {
        return;
    };
    let plain = client(&reference, config()).open("writers");
    plain
        .execute("CREATE TABLE w (worker INTEGER, i INTEGER)", ())
        .await
        .expect("create");
    let (busy, ok) = writers(plain.clone(), 9, 40).await;
    assert!(
        busy > 0,
        "9 concurrent writers on dqlite 1.11 see SQLITE_BUSY ({ok} succeeded)"
    );
    plain.execute("DELETE FROM w", ()).await.expect("reset");
    let patient = client(&reference, config().with_retry_busy(true)).open("writers");
    let (busy, ok) = writers(patient.clone(), 9, 40).await;
    assert_eq!(
        (busy, ok),
        (0, 9 * 40),
        "with the busy policy every write succeeds"
    );
    let n: i64 = patient
        .query_one("SELECT count(*) FROM w", ())
        .await
        .expect("count")
        .get(0)
        .expect("n");
    assert_eq!(n, 9 * 40);
}

/// Runs `workers` tasks inserting `per_worker` rows each; returns (busy errors, successes).
async fn writers(db: Db, workers: i64, per_worker: i64) -> (usize, usize) {
    let db = Arc::new(db);
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let db = Arc::clone(&db);
            tokio::spawn(async move {
                let (mut busy, mut ok) = (0, 0);
                for i in 0..per_worker {
                    match db.execute("INSERT INTO w VALUES (?, ?)", (w, i)).await {
                        Ok(_) => ok += 1,
                        Err(e) if e.is_busy() => busy += 1,
                        Err(e) => panic!("worker {w}: unexpected error {e}"),
                    }
                }
                (busy, ok)
            })
        })
        .collect();
    let mut totals = (0, 0);
    for t in tasks {
        let (b, o) = t.await.expect("worker task");
        totals.0 += b;
        totals.1 += o;
    }
    totals
}
