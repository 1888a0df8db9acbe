//! The bank workload: `ACCOUNTS` accounts holding `TOTAL` between them; a `transfer` moves
//! an amount from one to another in a transaction (refused, as `fail`, when the source
//! would go negative); a `read` returns every balance in one statement. Checked by
//! [`crate::check::bank`]: every read must see the same total.

use std::collections::BTreeMap;

use dqlite_client::{Db, Error, Transaction};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use super::{Invocation, Outcome};

/// Number of accounts.
pub const ACCOUNTS: i64 = 8;
/// Sum of every balance, at all times.
pub const TOTAL: i64 = 800;

pub(super) async fn setup(db: &Db) -> Result<(), Error> {
    db.execute(
        "CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
        (),
    )
    .await?;
    for id in 0..ACCOUNTS {
        db.execute(
            "INSERT OR IGNORE INTO accounts (id, balance) VALUES (?, ?)",
            (id, TOTAL / ACCOUNTS),
        )
        .await?;
    }
    Ok(())
}

pub(super) fn generate(rng: &mut StdRng) -> Invocation {
    if rng.random_ratio(1, 4) {
        return read();
    }
    let from = rng.random_range(0..ACCOUNTS);
    let to = (from + rng.random_range(1..ACCOUNTS)) % ACCOUNTS;
    Invocation {
        f: "transfer",
        value: json!({"from": from, "to": to, "amount": rng.random_range(1..=5)}),
    }
}

pub(super) fn read() -> Invocation {
    Invocation {
        f: "read",
        value: json!({"expected_total": TOTAL, "accounts": ACCOUNTS}),
    }
}

pub(super) async fn invoke(db: &Db, op: &Invocation) -> (Outcome, Option<String>) {
    if op.f == "read" {
        let mut conn = match db.acquire().await {
            Ok(conn) => conn,
            Err(e) => return (Outcome::Fail(e.to_string()), None),
        };
        let node = Some(conn.node().to_owned());
        let outcome = match conn.query_all("SELECT id, balance FROM accounts", ()).await {
            Ok(rows) => {
                let balances: BTreeMap<String, Value> = rows
                    .iter()
                    .map(|r| {
                        let v = r.values();
                        let id = v.first().map_or(Value::Null, super::int_or_null);
                        let balance = v.get(1).map_or(Value::Null, super::int_or_null);
                        (id.to_string(), balance)
                    })
                    .collect();
                Outcome::Ok(json!(balances))
            }
            Err(e) => Outcome::Fail(e.to_string()),
        };
        return (outcome, node);
    }
    let mut tx = match db.begin().await {
        Ok(tx) => tx,
        Err(e) => return (Outcome::Fail(e.to_string()), None),
    };
    let node = tx.node().map(str::to_owned);
    let from = op.value["from"].as_i64().unwrap_or_default();
    let to = op.value["to"].as_i64().unwrap_or_default();
    let amount = op.value["amount"].as_i64().unwrap_or_default();
    let outcome = match transfer(&mut tx, from, to, amount).await {
        Ok(true) => match tx.commit().await {
            Ok(()) => Outcome::Ok(op.value.clone()),
            Err(e) => Outcome::from_error(&e),
        },
        Ok(false) => {
            let _ = tx.rollback().await;
            Outcome::Fail("insufficient funds".into())
        }
        // Nothing commits before COMMIT: a failed statement means the transfer did not happen.
        Err(e) => {
            let _ = tx.rollback().await;
            Outcome::Fail(e.to_string())
        }
    };
    (outcome, node)
}

/// The transfer's statements; false when the source account holds too little.
async fn transfer(tx: &mut Transaction, from: i64, to: i64, amount: i64) -> Result<bool, Error> {
    let balance: i64 = tx
        .query_one("SELECT balance FROM accounts WHERE id = ?", (from,))
        .await?
        .get(0)?;
    if balance < amount {
        return Ok(false);
    }
    tx.execute(
        "UPDATE accounts SET balance = balance - ? WHERE id = ?",
        (amount, from),
    )
    .await?;
    tx.execute(
        "UPDATE accounts SET balance = balance + ? WHERE id = ?",
        (amount, to),
    )
    .await?;
    Ok(true)
}
