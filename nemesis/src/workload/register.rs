//! The register workload: `read`, `write` and compare-and-set (`cas`) on single integer
//! registers, each one autocommit statement. A few keys are in use at a time and they rotate,
//! so each key sees a few hundred operations (the linearizability search stays small).
//! Checked by [`crate::check::register`].

use dqlite_client::{Db, Error};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use super::{Invocation, Outcome};

/// Keys in use at any time.
const ACTIVE_KEYS: u64 = 3;
/// Operations generated before the window of keys moves on by one.
const OPS_PER_SHIFT: u64 = 100;
/// Values written are drawn from `0..VALUES`, so reads often match several writes.
const VALUES: i64 = 5;

pub(super) async fn setup(db: &Db) -> Result<(), Error> {
    db.execute(
        "CREATE TABLE IF NOT EXISTS registers (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)",
        (),
    )
    .await
    .map(drop)
}

pub(super) fn generate(rng: &mut StdRng, n: u64) -> Invocation {
    let k = n / OPS_PER_SHIFT + rng.random_range(0..ACTIVE_KEYS);
    match rng.random_range(0..4) {
        0 | 1 => Invocation {
            f: "read",
            value: json!({"key": k, "value": null}),
        },
        2 => Invocation {
            f: "write",
            value: json!({"key": k, "value": rng.random_range(0..VALUES)}),
        },
        _ => Invocation {
            f: "cas",
            value: json!({"key": k, "from": rng.random_range(0..VALUES), "to": rng.random_range(0..VALUES)}),
        },
    }
}

/// One read of every key the run may have used.
pub(super) fn read_all(generated: u64) -> Vec<Invocation> {
    (0..generated / OPS_PER_SHIFT + ACTIVE_KEYS)
        .map(|k| Invocation {
            f: "read",
            value: json!({"key": k, "value": null}),
        })
        .collect()
}

pub(super) async fn invoke(db: &Db, op: &Invocation) -> (Outcome, Option<String>) {
    let mut conn = match db.acquire().await {
        Ok(conn) => conn,
        Err(e) => return (Outcome::Fail(e.to_string()), None),
    };
    let node = Some(conn.node().to_owned());
    let k = op.value["key"].as_i64().unwrap_or_default();
    let outcome = match op.f {
        "read" => {
            match conn
                .query_all("SELECT v FROM registers WHERE k = ?", (k,))
                .await
            {
                Ok(rows) => {
                    let v = rows
                        .first()
                        .and_then(|r| r.values().first().map(super::int_or_null))
                        .unwrap_or(Value::Null);
                    Outcome::Ok(json!({"key": k, "value": v}))
                }
                Err(e) => Outcome::Fail(e.to_string()),
            }
        }
        "write" => {
            let v = op.value["value"].as_i64().unwrap_or_default();
            match conn
                .execute(
                    "INSERT INTO registers (k, v) VALUES (?, ?) \
                     ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                    (k, v),
                )
                .await
            {
                Ok(_) => Outcome::Ok(op.value.clone()),
                Err(e) => Outcome::from_error(&e),
            }
        }
        _ => {
            let from = op.value["from"].as_i64().unwrap_or_default();
            let to = op.value["to"].as_i64().unwrap_or_default();
            match conn
                .execute(
                    "UPDATE registers SET v = ? WHERE k = ? AND v = ?",
                    (to, k, from),
                )
                .await
            {
                Ok(r) if r.rows_affected == 1 => Outcome::Ok(op.value.clone()),
                Ok(_) => Outcome::Fail("compare failed".into()),
                Err(e) => Outcome::from_error(&e),
            }
        }
    };
    (outcome, node)
}
