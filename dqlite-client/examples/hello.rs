//! Connects to a dqlite cluster, creates a table, writes and reads it.
//!
//! ```sh
//! cargo run -p dqlite-client --example hello -- 127.0.0.1:9001 127.0.0.1:9002 127.0.0.1:9003
//! ```

use dqlite_client::{Cluster, Config};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seeds: Vec<String> = std::env::args().skip(1).collect();
    if seeds.is_empty() {
        eprintln!("usage: hello ADDR [ADDR...]  (addresses of dqlite nodes)");
        std::process::exit(2);
    }
    let cluster = Cluster::from_addresses(seeds, Config::default())?;
    println!("leader: {}", cluster.leader_address().await?);
    let db = cluster.open("hello");
    db.execute(
        "CREATE TABLE IF NOT EXISTS greetings (id INTEGER PRIMARY KEY, text TEXT)",
        (),
    )
    .await?;
    let res = db
        .execute(
            "INSERT INTO greetings (text) VALUES (?)",
            ("hello, dqlite",),
        )
        .await?;
    println!("inserted row {}", res.last_insert_id);
    for row in db
        .query_all("SELECT id, text FROM greetings ORDER BY id", ())
        .await?
    {
        let (id, text): (i64, String) = (row.get("id")?, row.get("text")?);
        println!("{id}: {text}");
    }
    for node in cluster.nodes().await? {
        let role = node.role.map(|r| r.to_string()).unwrap_or_default();
        println!("node {:x} at {} ({role})", node.id, node.address);
    }
    Ok(())
}
