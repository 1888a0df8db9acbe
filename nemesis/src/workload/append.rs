//! The list-append workload (Elle's): each `txn` is a transaction of 1–4 micro-operations
//! over a few keys, `["append", k, v]` (v unique in the run) or `["r", k, null]`, whose
//! reads return the whole list. Lists are stored as comma-separated text, one row per key.
//! Keys rotate so no list grows long. Checked by [`crate::check::append`].

use dqlite_client::{Db, Error, Transaction};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use super::{Invocation, Outcome};

/// Keys in use at any time.
const ACTIVE_KEYS: u64 = 5;
/// Transactions generated before the window of keys moves on by one.
const TXNS_PER_SHIFT: u64 = 200;

pub(super) async fn setup(db: &Db) -> Result<(), Error> {
    db.execute(
        "CREATE TABLE IF NOT EXISTS lists (k INTEGER PRIMARY KEY, v TEXT NOT NULL)",
        (),
    )
    .await
    .map(drop)
}

pub(super) fn generate(rng: &mut StdRng, n: u64, mut next: impl FnMut() -> u64) -> Invocation {
    let base = n / TXNS_PER_SHIFT;
    let len = rng.random_range(1..=4);
    let mops: Vec<Value> = (0..len)
        .map(|_| {
            let k = base + rng.random_range(0..ACTIVE_KEYS);
            if rng.random_bool(0.5) {
                json!(["append", k, next()])
            } else {
                json!(["r", k, null])
            }
        })
        .collect();
    Invocation {
        f: "txn",
        value: Value::Array(mops),
    }
}

/// One transaction reading every key the run may have used.
pub(super) fn read_all(generated: u64) -> Invocation {
    let last = generated / TXNS_PER_SHIFT + ACTIVE_KEYS;
    Invocation {
        f: "txn",
        value: Value::Array((0..last).map(|k| json!(["r", k, null])).collect()),
    }
}

pub(super) async fn invoke(db: &Db, op: &Invocation) -> (Outcome, Option<String>) {
    let mut tx = match db.begin().await {
        Ok(tx) => tx,
        Err(e) => return (Outcome::Fail(e.to_string()), None),
    };
    let node = tx.node().map(str::to_owned);
    let mops = op.value.as_array().cloned().unwrap_or_default();
    let outcome = match run(&mut tx, mops).await {
        Ok(done) => match tx.commit().await {
            Ok(()) => Outcome::Ok(Value::Array(done)),
            Err(e) => Outcome::from_error(&e),
        },
        // Nothing commits before COMMIT.
        Err(e) => {
            let _ = tx.rollback().await;
            Outcome::Fail(e.to_string())
        }
    };
    (outcome, node)
}

/// Runs the micro-operations; returns them with the reads filled in.
async fn run(tx: &mut Transaction, mops: Vec<Value>) -> Result<Vec<Value>, Error> {
    let mut done = Vec::with_capacity(mops.len());
    for mop in mops {
        let f = mop[0].as_str().unwrap_or_default();
        let k = mop[1].as_i64().unwrap_or_default();
        if f == "append" {
            let v = mop[2].as_i64().unwrap_or_default();
            tx.execute(
                "INSERT INTO lists (k, v) VALUES (?, ?) \
                 ON CONFLICT (k) DO UPDATE SET v = v || ',' || excluded.v",
                (k, v.to_string()),
            )
            .await?;
            done.push(mop);
        } else {
            let row = tx
                .query_opt("SELECT v FROM lists WHERE k = ?", (k,))
                .await?;
            let text: String = match row {
                Some(row) => row.get(0)?,
                None => String::new(),
            };
            done.push(json!(["r", k, parse_list(&text)]));
        }
    }
    Ok(done)
}

/// `"1,2,3"` as `[1, 2, 3]`; an element that is not an integer stays a string, for the
/// checker to report.
fn parse_list(text: &str) -> Value {
    if text.is_empty() {
        return json!([]);
    }
    Value::Array(
        text.split(',')
            .map(|e| e.parse::<i64>().map_or_else(|_| json!(e), Value::from))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn lists_parse_and_keys_rotate() {
        assert_eq!(parse_list(""), json!([]));
        assert_eq!(parse_list("3,1"), json!([3, 1]));
        assert_eq!(parse_list("3,x"), json!([3, "x"]));
        let mut rng = StdRng::seed_from_u64(1);
        let mut next = 0;
        let late = generate(&mut rng, 10 * TXNS_PER_SHIFT, || {
            next += 1;
            next
        });
        for mop in late.value.as_array().unwrap() {
            let k = mop[1].as_u64().unwrap();
            assert!((10..10 + ACTIVE_KEYS).contains(&k), "{mop}");
        }
        assert_eq!(
            read_all(0).value.as_array().unwrap().len() as u64,
            ACTIVE_KEYS
        );
    }
}
