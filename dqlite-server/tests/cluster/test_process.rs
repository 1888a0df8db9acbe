//! Process-level clusters of spawned `dqlite-server` binaries: kill -9 of the leader during a
//! write loop, restart from disk, and the Debian `dqlite` shell.

use std::time::Duration;

use dqlite_proto::Value;

use crate::util::*;

struct ProcCluster {
    procs: Vec<Proc>,
    _tmp: TempDir,
}

impl ProcCluster {
    async fn start(name: &str) -> ProcCluster {
        let tmp = TempDir::new(name);
        let procs = start_three(&tmp.0, Proc::spawn).await;
        ProcCluster { procs, _tmp: tmp }
    }

    fn addrs(&self) -> Vec<String> {
        self.procs.iter().map(|p| p.addr.clone()).collect()
    }

    async fn leader(&self) -> usize {
        let addrs = self.addrs();
        wait_for("a leader", WAIT, || async {
            let mut c = dqlite_server::client::connect_leader(&addrs, Duration::from_secs(2))
                .await
                .ok()?;
            let (_, a) = c.leader().await.ok()??;
            addrs.iter().position(|x| *x == a)
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_of_the_leader_loses_no_acknowledged_write() {
    let mut pc = ProcCluster::start("kill9").await;
    let l = pc.leader().await;
    let addr = pc.procs[l].addr.clone();
    let mut c = open(&addr, "k").await;
    exec(&mut c, "CREATE TABLE t (n INTEGER PRIMARY KEY)")
        .await
        .expect("create");
    // Nine concurrent writers, so grouped entries of several transactions are in flight when
    // the leader dies.
    let mut writers = Vec::new();
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for w in 0..9i64 {
        let mut c = open(&addr, "k").await;
        let progress = progress.clone();
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..100_000i64 {
                let n = i * 9 + w;
                let req = exec_sql("INSERT INTO t VALUES (?)", vec![Value::Integer(n)]);
                match c.call(&req).await {
                    Ok(_) => {
                        acked.push(n);
                        progress.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Err(_) => break,
                }
            }
            acked
        }));
    }
    // Kill the leader once a few hundred writes were acknowledged, mid-stream.
    wait_for("acknowledged writes", WAIT, || async {
        (progress.load(std::sync::atomic::Ordering::Relaxed) >= 200).then_some(())
    })
    .await;
    pc.procs[l].kill9();
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(
            tokio::time::timeout(WAIT, w)
                .await
                .expect("writer stops")
                .expect("join"),
        );
    }
    assert!(!acked.is_empty(), "some writes were acknowledged");
    let nl = pc.leader().await;
    assert_ne!(nl, l);
    let mut d = open(&pc.procs[nl].addr, "k").await;
    let rows = query(&mut d, "SELECT n FROM t").await.expect("select");
    let have: std::collections::HashSet<i64> = rows
        .iter()
        .filter_map(|r| match r[0] {
            Value::Integer(n) => Some(n),
            _ => None,
        })
        .collect();
    for n in &acked {
        assert!(
            have.contains(n),
            "acknowledged write {n} lost (acked {}, have {})",
            acked.len(),
            have.len()
        );
    }
    // Restart the killed node from its directory: it comes back with its identity and data.
    pc.procs[l].restart();
    let dir = pc.procs[l].dir.clone();
    let want = rows.len();
    wait_for("restarted node catches up", WAIT, || async {
        (local_rows(&dir, "k", "SELECT count(*) FROM t") == vec![format!("Integer({want})")])
            .then_some(())
    })
    .await;
    let ids: Vec<u64> = cluster(&pc.procs[nl].addr)
        .await
        .expect("cluster")
        .iter()
        .map(|n| n.0)
        .collect();
    assert_eq!(ids.len(), 3, "no new identity was added");
    // kill -9 every node and restart the whole cluster from disk.
    for p in &mut pc.procs {
        p.kill9();
    }
    for p in &mut pc.procs {
        p.restart();
    }
    let l = pc.leader().await;
    let mut e = open(&pc.procs[l].addr, "k").await;
    assert!(l < 3);
    let count = query(&mut e, "SELECT count(*) FROM t")
        .await
        .expect("count");
    assert_eq!(
        count,
        vec![vec![Value::Integer(want as i64)]],
        "every row survives a full restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debian_dqlite_shell_works_against_our_cluster() {
    if !std::path::Path::new("/usr/bin/dqlite").exists() {
        assert!(
            std::env::var("CI").is_err(),
            "the dqlite shell (go-dqlite) is required under CI"
        );
        eprintln!("skipping: /usr/bin/dqlite not installed");
        return;
    }
    let pc = ProcCluster::start("shell").await;
    let servers = pc.addrs().join(",");
    let l = pc.leader().await;
    let shell = |cmd: &str| {
        let out = std::process::Command::new("/usr/bin/dqlite")
            .args(["-s", &servers, "shelltest", cmd])
            .output()
            .expect("run dqlite shell");
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    assert_eq!(shell(".leader"), pc.procs[l].addr);
    let cluster_out = shell(".cluster");
    assert_eq!(cluster_out.lines().count(), 3, "{cluster_out}");
    assert!(
        cluster_out.lines().all(|l| l.ends_with("|voter")),
        "{cluster_out}"
    );
    shell("CREATE TABLE greet (id INTEGER PRIMARY KEY, msg TEXT)");
    shell("INSERT INTO greet (msg) VALUES ('hello')");
    shell("INSERT INTO greet (msg) VALUES ('world')");
    assert_eq!(
        shell("SELECT id, msg FROM greet ORDER BY id"),
        "1|hello\n2|world"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_hands_leadership_over_and_exits() {
    let mut pc = ProcCluster::start("sigterm").await;
    let l = pc.leader().await;
    let mut c = open(&pc.procs[l].addr, "s").await;
    exec(&mut c, "CREATE TABLE t (n)").await.expect("create");
    pc.procs[l].signal("-TERM");
    let mut child = pc.procs[l].child.take().expect("child");
    let status = wait_for("the leader to exit after SIGTERM", WAIT, || {
        let s = child.try_wait().ok().flatten();
        async move { s }
    })
    .await;
    assert!(status.success(), "clean exit: {status:?}");
    let nl = pc.leader().await;
    assert_ne!(nl, l);
    let mut d = open(&pc.procs[nl].addr, "s").await;
    exec(&mut d, "INSERT INTO t VALUES (1)")
        .await
        .expect("the new leader serves writes");
}

/// The terms in which the node whose log is at `path` announced it became leader.
fn leader_terms(path: &std::path::Path) -> Vec<u64> {
    let raw = std::fs::read_to_string(path).unwrap_or_default();
    // Without the colour codes a terminal-less log may still carry.
    let mut text = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(ch) = chars.next() {
        if ch == '\u{1b}' {
            chars.by_ref().find(|c| *c == 'm');
        } else {
            text.push(ch);
        }
    }
    text.lines()
        .filter(|l| l.contains("became leader"))
        .filter_map(|l| {
            let term = l.split("term=Some(").nth(1)?;
            term.split(')').next()?.parse().ok()
        })
        .collect()
}

/// Found by the nemesis suite (bank, disk faults on the leader): a leader that stopped and
/// came back before anyone else stood for election resumed its old term at once (openraft
/// restores a committed vote for itself as leadership). Entries it had sent to followers but
/// not yet written itself were missing from its log, so it proposed different entries under
/// the same (term, index): the followers kept theirs, every replica diverged and all three
/// nodes stopped. A restarted node must win a new election, in a higher term.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_restarted_at_once_stands_for_a_new_term() {
    let tmp = TempDir::new("restart-term");
    let mut procs = start_three(&tmp.0, |a, d, j| {
        Proc::spawn_with_timings(a, d, j, 1500, 150)
    })
    .await;
    let addrs: Vec<String> = procs.iter().map(|p| p.addr.clone()).collect();
    let leader = || async {
        let mut c = dqlite_server::client::connect_leader(&addrs, Duration::from_secs(2))
            .await
            .ok()?;
        let (_, a) = c.leader().await.ok()??;
        addrs.iter().position(|x| *x == a)
    };
    let l = wait_for("a leader", WAIT, leader).await;
    let mut c = open(&addrs[l], "r").await;
    exec(&mut c, "CREATE TABLE t (n INTEGER PRIMARY KEY)")
        .await
        .expect("create");
    for i in 0..20i64 {
        let req = exec_sql("INSERT INTO t VALUES (?)", vec![Value::Integer(i)]);
        c.call(&req).await.expect("insert");
    }
    let old = *leader_terms(&procs[l].log_path())
        .last()
        .expect("the leader logged its term");
    let before = leader_terms(&procs[l].log_path()).len();
    procs[l].kill9();
    procs[l].restart();
    // Whoever leads next, the restarted node never leads in its old term again.
    let nl = wait_for("a leader after the restart", WAIT, leader).await;
    let mut d = open(&addrs[nl], "r").await;
    exec(&mut d, "INSERT INTO t VALUES (1000)")
        .await
        .expect("a write after the restart");
    let again = leader_terms(&procs[l].log_path());
    for term in &again[before..] {
        assert!(
            *term > old,
            "the restarted node led again in term {term}, its term before the kill was {old}"
        );
    }
    // And every replica holds the same rows.
    for (i, p) in procs.iter().enumerate() {
        let dir = p.dir.clone();
        wait_for(&format!("node {i} holds all 22 rows"), WAIT, || async {
            (local_rows(&dir, "r", "SELECT count(*) FROM t") == vec!["Integer(21)".to_string()])
                .then_some(())
        })
        .await;
    }
}
