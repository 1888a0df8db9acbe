//! A small load generator for measuring the client: point selects or inserts from N tasks for
//! a fixed time, reporting throughput, latency percentiles and this process's CPU per op.
//!
//! ```sh
//! cargo run --release -p dqlite-client --example loadgen -- select 9 10 127.0.0.1:9001,127.0.0.1:9002
//! cargo run --release -p dqlite-client --example loadgen -- insert 1 10 127.0.0.1:9001
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dqlite_client::{Cluster, Config, Db};

/// utime + stime of this process in clock ticks (Linux).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

async fn worker(db: Db, mode: String, id: i64, stop: Arc<AtomicBool>) -> Vec<u64> {
    let mut lat = Vec::new();
    let mut i = 0i64;
    while !stop.load(Ordering::Relaxed) {
        let start = Instant::now();
        let ok = if mode == "insert" {
            db.execute(
                "INSERT INTO lg(k, v) VALUES (?, ?)",
                (id * 1_000_000_000 + i, "x".repeat(64)),
            )
            .await
            .is_ok()
        } else {
            db.query_opt("SELECT v FROM lg WHERE k = ?", (i % 1000,))
                .await
                .is_ok()
        };
        if ok {
            lat.push(start.elapsed().as_nanos() as u64);
        }
        i += 1;
    }
    lat
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, tasks, secs, addrs] = args.as_slice() else {
        eprintln!("usage: loadgen select|insert TASKS SECONDS ADDR[,ADDR...]");
        std::process::exit(2);
    };
    let tasks: i64 = tasks.parse()?;
    let secs: u64 = secs.parse()?;
    let cluster = Cluster::from_addresses(addrs.split(','), Config::default().with_max_open(64))?;
    let db = cluster.open("loadgen");
    db.execute(
        "CREATE TABLE IF NOT EXISTS lg (k INTEGER PRIMARY KEY, v TEXT)",
        (),
    )
    .await?;
    db.execute(
        "INSERT OR IGNORE INTO lg WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c \
         WHERE x < 999) SELECT x, 'value' FROM c",
        (),
    )
    .await?;
    let stop = Arc::new(AtomicBool::new(false));
    let (t0, c0) = (Instant::now(), cpu_ticks());
    let handles: Vec<_> = (0..tasks)
        .map(|id| tokio::spawn(worker(db.clone(), mode.clone(), id + 1, Arc::clone(&stop))))
        .collect();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(h.await?);
    }
    let (elapsed, ticks) = (t0.elapsed().as_secs_f64(), cpu_ticks() - c0);
    lat.sort_unstable();
    let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)));
    let ms = |v: Option<&u64>| v.map_or(0.0, |n| *n as f64 / 1e6);
    let mean = lat.iter().sum::<u64>() as f64 / lat.len().max(1) as f64 / 1e6;
    let cpu_us = ticks as f64 * 1e4 / lat.len().max(1) as f64; // 100 ticks/s
    println!(
        "mode={mode} tasks={tasks} ops={} ops_s={:.0} mean_ms={mean:.3} p50_ms={:.3} p99_ms={:.3} client_cpu_us_per_op={cpu_us:.1}",
        lat.len(),
        lat.len() as f64 / elapsed,
        ms(pct(0.50)),
        ms(pct(0.99)),
    );
    Ok(())
}
