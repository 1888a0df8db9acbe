//! Replication tests at the SQLite level: a "leader" writer executes, a "follower" writer
//! applies the resulting operations, and both must hold the same rows.

use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use dqlite_proto::Value;

use super::exec::Mode;
use super::writer::{Outcome, Proposer, StmtJob, Writer, WriterCmd, WriterEnv, WriterHandle};
use crate::command::{Command, Op, Origin};
use crate::fatal::Fatal;
use crate::serving::Serving;

pub(super) const LEADER: u64 = 1;
const FOLLOWER: u64 = 2;

/// Entries the leader proposed, each its transactions' ids and operations (raft stands aside
/// in these tests).
type Proposed = Arc<Mutex<Vec<Vec<(u64, Vec<Op>)>>>>;

pub(super) struct Pair {
    pub(super) leader: WriterHandle,
    pub(super) follower: WriterHandle,
    proposed: Proposed,
    /// Raised when the follower stops for a fault of its own.
    pub(super) follower_fatal: Fatal,
    /// Whether the node of both writers serves (they share it in these tests).
    pub(super) serving: Arc<Serving>,
    dir: std::path::PathBuf,
}

impl Pair {
    pub(super) fn new(name: &str) -> Pair {
        Pair::with_limit(name, crate::config::DEFAULT_MAX_TX_BYTES)
    }

    /// A pair whose leader refuses transactions over `max_tx_bytes` of changes.
    pub(super) fn with_limit(name: &str, max_tx_bytes: u64) -> Pair {
        let dir = std::env::temp_dir().join(format!(
            "dqlite-server-sqltest-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        // The leader's proposals are recorded instead of going through raft.
        let proposed = Proposed::default();
        let record = proposed.clone();
        let proposer: Proposer = Arc::new(move |cmd| {
            let mut record = record.lock().unwrap_or_else(|p| p.into_inner());
            match cmd {
                Command::Tx { origin, ops, .. } => record.push(vec![(origin.tx, ops)]),
                Command::Txs { txs, .. } => {
                    record.push(txs.into_iter().map(|t| (t.tx, t.ops)).collect())
                }
                _ => {}
            }
            // Accepted; the tests apply the entries themselves.
            true
        });
        let slot = Arc::new(OnceLock::new());
        let _ = slot.set(proposer);
        let follower_fatal = Fatal::default();
        let serving = Arc::new(Serving::leader_of(1));
        let env = |node_id, proposer, fatal| WriterEnv {
            node_id,
            proposer,
            max_tx_bytes,
            fatal,
            serving: serving.clone(),
        };
        Pair {
            leader: Writer::spawn(
                &dir.join("leader"),
                "l",
                env(LEADER, slot, Fatal::default()),
            )
            .expect("leader writer"),
            follower: Writer::spawn(
                &dir.join("follower"),
                "f",
                env(FOLLOWER, Default::default(), follower_fatal.clone()),
            )
            .expect("follower writer"),
            proposed,
            follower_fatal,
            serving,
            dir,
        }
    }

    /// The operations the leader proposed for transaction `tx`.
    pub(super) fn proposed_ops(&self, tx: u64) -> Vec<Op> {
        let proposed = self.proposed.lock().unwrap_or_else(|p| p.into_inner());
        match proposed.iter().flatten().find(|(id, _)| *id == tx) {
            Some((_, ops)) => ops.clone(),
            None => panic!("transaction {tx} was not proposed"),
        }
    }

    /// The transaction ids of each entry the leader proposed, in order.
    pub(super) fn entries(&self) -> Vec<Vec<u64>> {
        let proposed = self.proposed.lock().unwrap_or_else(|p| p.into_inner());
        proposed
            .iter()
            .map(|e| e.iter().map(|(tx, _)| *tx).collect())
            .collect()
    }

    /// Runs `sql` like [`Pair::run`], which must fail with `code`; returns the error.
    pub(super) async fn refused(&self, sql: &str, in_tx: bool, code: u64) -> crate::Error {
        let err = match self.run(sql, vec![], in_tx).await {
            Ok(()) => panic!("{sql}: expected failure {code}, it succeeded"),
            Err(e) => e,
        };
        assert_eq!(err.code(), Some(code), "{sql}: {err}");
        err
    }

    /// Applies one committed entry on `writer` (through the state machine's command).
    pub(super) async fn apply(
        writer: &WriterHandle,
        origin: Origin,
        ops: Vec<Op>,
    ) -> crate::Result<()> {
        let mut results = writer
            .call(|r| WriterCmd::ApplyMany(vec![(origin, ops)], r))
            .await??;
        results
            .pop()
            .unwrap_or_else(|| Err(crate::Error::internal("no apply result")))
    }

    /// Runs `sql` (one statement) as an autocommit write and replicates it.
    pub(super) async fn exec(&self, sql: &str, params: Vec<Value>) -> crate::Result<()> {
        self.run(sql, params, false).await
    }

    /// Runs `sql` on the leader (`in_tx`: inside this client's open transaction) and
    /// replicates the transaction it ends, if any.
    pub(super) async fn run(
        &self,
        sql: &str,
        params: Vec<Value>,
        in_tx: bool,
    ) -> crate::Result<()> {
        let job = StmtJob {
            owner: 7,
            in_tx,
            sql: sql.into(),
            keyword: crate::sql::classify::keyword(sql),
            params,
            mode: Mode::Exec,
            rows: None,
        };
        let out = self.leader.call(|tx| WriterCmd::Stmt(job, tx)).await??;
        if let Outcome::Commit { tx, .. } = out {
            let origin = Origin { node: LEADER, tx };
            let ops = self.proposed_ops(tx);
            Pair::apply(&self.leader, origin, ops.clone()).await?;
            Pair::apply(&self.follower, origin, ops).await?;
        }
        Ok(())
    }

    /// Runs `sql` directly on the file of `who`, behind raft's back.
    pub(super) fn tamper(&self, who: &str, sql: &str) {
        let conn = rusqlite::Connection::open(self.dir.join(who)).expect("open");
        conn.execute_batch(sql).expect("tamper");
    }

    pub(super) fn dump(&self, who: &str, sql: &str) -> Vec<String> {
        let conn = rusqlite::Connection::open(self.dir.join(who)).expect("open");
        let mut stmt = conn.prepare(sql).expect("prepare");
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            Ok((0..n)
                .map(|i| format!("{:?}", r.get_ref(i).expect("col")))
                .collect::<Vec<_>>()
                .join("|"))
        })
        .expect("query")
        .map(|r| r.expect("row"))
        .collect()
    }

    pub(super) fn same_rows(&self, sql: &str) -> Vec<String> {
        self.same(sql)
    }

    fn same(&self, sql: &str) -> Vec<String> {
        let l = self.dump("leader", sql);
        assert_eq!(l, self.dump("follower", sql), "replicas differ for {sql}");
        l
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(Path::new(&self.dir));
    }
}

#[tokio::test]
async fn rowid_tables_and_nondeterminism_replicate_exactly() {
    let p = Pair::new("rowid");
    p.exec(
        "CREATE TABLE model (key TEXT, value TEXT, UNIQUE(key))",
        vec![],
    )
    .await
    .expect("create");
    p.exec(
        "INSERT OR REPLACE INTO model(key, value) VALUES(?, ?)",
        vec![Value::Text("a".into()), Value::Text("1".into())],
    )
    .await
    .expect("insert");
    p.exec(
        "INSERT OR REPLACE INTO model(key, value) VALUES(?, ?)",
        vec![Value::Text("a".into()), Value::Text("2".into())],
    )
    .await
    .expect("replace");
    p.exec("CREATE TABLE r (x, t)", vec![])
        .await
        .expect("create r");
    p.exec("INSERT INTO r VALUES (random(), datetime('now', '+' || abs(random() % 1000) || ' seconds'))", vec![]).await.expect("random");
    assert_eq!(p.same("SELECT rowid, * FROM model").len(), 1);
    assert_eq!(p.same("SELECT rowid, * FROM r").len(), 1);
}

#[tokio::test]
async fn autoincrement_triggers_fk_and_ctas() {
    let p = Pair::new("ddl");
    p.exec(
        "CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, v)",
        vec![],
    )
    .await
    .expect("a");
    p.exec("CREATE TABLE log (msg)", vec![]).await.expect("log");
    p.exec(
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN INSERT INTO log VALUES ('ins ' || new.v); END",
        vec![],
    )
    .await
    .expect("trigger");
    p.exec(
        "CREATE TABLE child (id INTEGER PRIMARY KEY, a_id REFERENCES a(id) ON DELETE CASCADE)",
        vec![],
    )
    .await
    .expect("child");
    for v in ["x", "y", "z"] {
        p.exec("INSERT INTO a(v) VALUES (?)", vec![Value::Text(v.into())])
            .await
            .expect("insert a");
    }
    p.exec("INSERT INTO child(a_id) VALUES (1)", vec![])
        .await
        .expect("child row");
    p.exec("DELETE FROM a WHERE id = 1", vec![])
        .await
        .expect("cascade");
    p.exec("CREATE TABLE copy AS SELECT id, v FROM a", vec![])
        .await
        .expect("ctas");
    p.exec("PRAGMA user_version = 42", vec![])
        .await
        .expect("user_version");
    assert_eq!(
        p.same("SELECT * FROM log").len(),
        3,
        "trigger rows replicated once"
    );
    assert!(
        p.same("SELECT * FROM child").is_empty(),
        "cascade replicated"
    );
    assert_eq!(p.same("SELECT * FROM copy").len(), 2);
    p.same("SELECT * FROM sqlite_sequence");
    p.same("PRAGMA user_version");
    p.same("SELECT type, name, sql FROM sqlite_schema ORDER BY name");
}

#[tokio::test]
async fn null_primary_keys_are_refused() {
    let p = Pair::new("nullpk");
    p.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v)", vec![])
        .await
        .expect("create");
    p.refused("INSERT INTO t VALUES (NULL, 1)", false, 1299)
        .await;
    p.exec("INSERT INTO t VALUES ('k', 1)", vec![])
        .await
        .expect("normal insert");
    assert_eq!(p.same("SELECT * FROM t").len(), 1);
}

#[tokio::test]
async fn deferred_foreign_keys_never_reach_the_log() {
    let p = Pair::new("deferred");
    p.exec("CREATE TABLE parent (id INTEGER PRIMARY KEY)", vec![])
        .await
        .expect("parent");
    p.exec("CREATE TABLE child (id INTEGER PRIMARY KEY, p REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)", vec![])
        .await
        .expect("child");
    p.refused("INSERT INTO child VALUES (1, 99)", false, 787)
        .await;
    assert!(p.same("SELECT * FROM child").is_empty());
}

#[tokio::test]
async fn transactions_over_the_size_limit_fail_and_leave_nothing() {
    let p = Pair::with_limit("toobig", 4096);
    p.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)", vec![])
        .await
        .expect("create");
    p.exec("INSERT INTO t (b) VALUES (zeroblob(1000))", vec![])
        .await
        .expect("a transaction under the limit");
    let err = p
        .refused("INSERT INTO t (b) VALUES (zeroblob(10000))", false, 18)
        .await;
    assert!(err.to_string().contains("too large to replicate"), "{err}");

    // An explicit transaction: each statement is small, the COMMIT fails as a whole.
    p.run("BEGIN", vec![], false).await.expect("begin");
    for _ in 0..3 {
        p.run("INSERT INTO t (b) VALUES (zeroblob(2000))", vec![], true)
            .await
            .expect("insert inside the transaction");
    }
    p.refused("COMMIT", true, 18).await;

    // Nothing of either reached a replica, and the writer keeps working.
    p.exec("INSERT INTO t (b) VALUES (zeroblob(10))", vec![])
        .await
        .expect("a write after the refusals");
    assert_eq!(
        p.same_rows("SELECT id, length(b) FROM t ORDER BY id"),
        vec!["Integer(1)|Integer(1000)", "Integer(2)|Integer(10)"]
    );
}

#[tokio::test]
async fn a_snapshot_flush_keeps_an_open_client_transaction() {
    let p = Pair::new("flush-open-tx");
    p.exec("CREATE TABLE t (n)", vec![]).await.expect("create");
    p.run("BEGIN", vec![], false).await.expect("begin");
    p.run("INSERT INTO t VALUES (1)", vec![], true)
        .await
        .expect("insert");
    // What the state machine does before pinning the databases for a snapshot.
    p.leader
        .call(WriterCmd::Flush)
        .await
        .and_then(|r| r)
        .expect("flush while the transaction is open");
    p.run("INSERT INTO t VALUES (2)", vec![], true)
        .await
        .expect("the transaction survived the flush");
    p.run("COMMIT", vec![], true).await.expect("commit");
    assert_eq!(
        p.same_rows("SELECT n FROM t ORDER BY n"),
        vec!["Integer(1)", "Integer(2)"]
    );
}
