//! A small load loop mirroring go-dqlite's `dqlite-benchmark` workloads (kvwrite,
//! kvreadwrite) over the raw wire protocol, for measurements against a running cluster:
//!
//! `cargo run --release --example kvbench -- ADDR[,ADDR...] WORKERS SECONDS kvwrite|kvreadwrite`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dqlite_proto::{Request, Value};
use dqlite_server::client::{connect_leader, Client};
use rand::{Rng, SeedableRng};

#[derive(Default)]
struct Counts {
    writes: AtomicU64,
    write_errors: AtomicU64,
    locked: AtomicU64,
    reads: AtomicU64,
    read_errors: AtomicU64,
}

fn key(rng: &mut impl Rng) -> String {
    (0..32)
        .map(|_| rng.random_range(b'a'..=b'z') as char)
        .collect()
}

async fn worker(seeds: Vec<String>, until: Instant, readwrite: bool, counts: Arc<Counts>) {
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let mut conn: Option<Client> = None;
    let value = "v".repeat(1024);
    while Instant::now() < until {
        let c = match conn.as_mut() {
            Some(c) => c,
            None => {
                let Ok(mut c) = connect_leader(&seeds, Duration::from_secs(5)).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                if c.call(&Request::Open {
                    name: "benchmark".into(),
                    flags: 0,
                    vfs: "volatile".into(),
                })
                .await
                .is_err()
                {
                    continue;
                }
                conn.insert(c)
            }
        };
        let write = !readwrite || rng.random_bool(0.5);
        let res = if write {
            let req = Request::ExecSql {
                db: 0,
                sql: "INSERT OR REPLACE INTO model(key, value) VALUES(?, ?)".into(),
                params: vec![Value::Text(key(&mut rng)), Value::Text(value.clone())],
                schema: Default::default(),
            };
            c.call(&req).await.map(|_| ())
        } else {
            let req = Request::QuerySql {
                db: 0,
                sql: "SELECT value FROM model WHERE key = ?".into(),
                params: vec![Value::Text(key(&mut rng))],
                schema: Default::default(),
            };
            c.query(&req).await.map(|_| ())
        };
        match (write, res) {
            (true, Ok(())) => counts.writes.fetch_add(1, Ordering::Relaxed),
            (false, Ok(())) => counts.reads.fetch_add(1, Ordering::Relaxed),
            (w, Err(e)) => {
                if e.code() == Some(5) {
                    counts.locked.fetch_add(1, Ordering::Relaxed);
                }
                if matches!(e.code(), Some(10250 | 10506 | 12) | None) {
                    conn = None;
                }
                if w {
                    counts.write_errors.fetch_add(1, Ordering::Relaxed)
                } else {
                    counts.read_errors.fetch_add(1, Ordering::Relaxed)
                }
            }
        };
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seeds: Vec<String> = args
        .get(1)
        .map(|s| s.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let workers: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let secs: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(15);
    let readwrite = args.get(4).is_some_and(|s| s == "kvreadwrite");
    let mut c = connect_leader(&seeds, Duration::from_secs(10))
        .await
        .expect("no leader");
    c.call(&Request::Open {
        name: "benchmark".into(),
        flags: 0,
        vfs: "volatile".into(),
    })
    .await
    .expect("open");
    let create = "CREATE TABLE IF NOT EXISTS model (key TEXT, value TEXT, UNIQUE(key))";
    c.call(&Request::ExecSql {
        db: 0,
        sql: create.into(),
        params: vec![],
        schema: Default::default(),
    })
    .await
    .expect("create");
    let counts = Arc::new(Counts::default());
    let start = Instant::now();
    let until = start + Duration::from_secs(secs);
    let tasks: Vec<_> = (0..workers)
        .map(|_| tokio::spawn(worker(seeds.clone(), until, readwrite, counts.clone())))
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let el = start.elapsed().as_secs_f64();
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    println!(
        "workers={workers} secs={el:.1} writes/s={:.0} reads/s={:.0} write_errors={} read_errors={} locked={}",
        get(&counts.writes) as f64 / el,
        get(&counts.reads) as f64 / el,
        get(&counts.write_errors),
        get(&counts.read_errors),
        get(&counts.locked),
    );
}
