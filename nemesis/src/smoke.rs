//! The smoke suite CI runs (about three minutes): short runs of every workload against our
//! server under every fault, and one run against C dqlite. An anomaly of our server fails
//! the suite; C dqlite's are printed and do not (they are reported, not worked around).

use std::path::PathBuf;
use std::time::Duration;

use dqlite_nemesis::check::Validity;
use dqlite_nemesis::cluster::Target;
use dqlite_nemesis::fault::{Fault, Schedule};
use dqlite_nemesis::run;
use dqlite_nemesis::workload::Kind;
use tokio_util::sync::CancellationToken;

use crate::{binary, options, Args};

/// The suite: target, workload, faults, seconds.
const RUNS: [(Target, Kind, &str, u64); 5] = [
    (Target::Ours, Kind::Bank, "kill,partition", 25),
    (Target::Ours, Kind::Append, "pause,partition", 25),
    (Target::Ours, Kind::Set, "member,disk", 25),
    (Target::Ours, Kind::Register, "kill", 20),
    (Target::C, Kind::Set, "kill", 20),
];

/// Runs the suite; true when every run of our server was valid.
pub async fn run(args: &Args, interrupt: CancellationToken) -> Result<bool, String> {
    let base = options(args)?;
    let root = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("output/nemesis").join(format!("smoke-{}", base.seed)));
    let mut all_valid = true;
    for (n, (target, workload, nemesis, secs)) in RUNS.into_iter().enumerate() {
        let server_bin = match (target, &args.server_bin) {
            (Target::Ours, Some(p)) => p.clone(),
            _ => match binary::default_for(target) {
                Ok(p) => p,
                Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
                    println!("smoke {n}: skipped: {e}");
                    continue;
                }
                Err(e) => return Err(e),
            },
        };
        let name = if target == Target::Ours { "ours" } else { "c" };
        if (nemesis.contains("partition") || nemesis.contains("disk"))
            && !dqlite_nemesis::cluster::namespaces_available()
        {
            let why = format!(
                "smoke {n} ({} on {name}, {nemesis}) needs root with network namespaces",
                workload.name()
            );
            if std::env::var("CI").as_deref() == Ok("true") {
                return Err(why);
            }
            println!("{why}: skipped");
            continue;
        }
        let opts = run::Options {
            target,
            server_bin,
            workload,
            schedule: Schedule {
                faults: Fault::parse_list(nemesis)?,
                interval: Duration::from_secs(3),
                hold: Duration::from_secs(4),
            },
            time: Duration::from_secs(secs),
            out: root.join(format!("{n}-{}-{name}", workload.name())),
            seed: base.seed.wrapping_add(n as u64),
            ..base.clone()
        };
        let outcome = run::run(&opts, interrupt.clone())
            .await
            .map_err(|e| format!("smoke run {n} ({} on {name}): {e}", workload.name()))?;
        print!("{}", outcome.summary);
        if outcome.check.validity != Validity::Valid {
            if target == Target::Ours {
                all_valid = false;
            } else {
                println!("  (C dqlite's anomalies are reported, not failed on)");
            }
        }
    }
    Ok(all_valid)
}
