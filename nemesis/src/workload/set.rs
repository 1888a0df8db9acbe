//! The set workload: each `add` inserts a unique integer (one autocommit INSERT); `read`
//! returns every element. Checked by [`crate::check::set`].

use dqlite_client::{Db, Error};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use super::{Invocation, Outcome};

pub(super) async fn setup(db: &Db) -> Result<(), Error> {
    db.execute(
        "CREATE TABLE IF NOT EXISTS elements (v INTEGER PRIMARY KEY)",
        (),
    )
    .await
    .map(drop)
}

/// Mostly adds; one read in twenty, so stale reads show up during the run too.
pub(super) fn generate(rng: &mut StdRng, mut next: impl FnMut() -> u64) -> Invocation {
    if rng.random_ratio(1, 20) {
        read()
    } else {
        Invocation {
            f: "add",
            value: json!(next()),
        }
    }
}

pub(super) fn read() -> Invocation {
    Invocation {
        f: "read",
        value: Value::Null,
    }
}

pub(super) async fn invoke(db: &Db, op: &Invocation) -> (Outcome, Option<String>) {
    let mut conn = match db.acquire().await {
        Ok(conn) => conn,
        Err(e) => return (Outcome::Fail(e.to_string()), None),
    };
    let node = Some(conn.node().to_owned());
    let outcome = if op.f == "add" {
        let v = op.value.as_i64().unwrap_or_default();
        match conn
            .execute("INSERT INTO elements (v) VALUES (?)", (v,))
            .await
        {
            Ok(_) => Outcome::Ok(op.value.clone()),
            Err(e) => Outcome::from_error(&e),
        }
    } else {
        match conn
            .query_all("SELECT v FROM elements ORDER BY v", ())
            .await
        {
            Ok(rows) => Outcome::Ok(Value::Array(
                rows.iter()
                    .map(|r| r.values().first().map_or(Value::Null, super::int_or_null))
                    .collect(),
            )),
            Err(e) => Outcome::Fail(e.to_string()),
        }
    };
    (outcome, node)
}
