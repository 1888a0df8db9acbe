//! `dqlite-burn`: keeps CPUs busy, for the slow-CPU fault experiments (docker/ and
//! `scripts/experiment.py --backend local`), so they need no tool beyond this repository's
//! binaries.
//!
//! `dqlite-burn [--threads N] [--seconds S]`: N spinning threads (default 1) for S seconds
//! (default: until SIGINT or SIGTERM, which it handles even as a container's PID 1).

use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Parsed command line.
struct Options {
    threads: usize,
    seconds: Option<u64>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options {
        threads: 1,
        seconds: None,
    };
    while let Some(flag) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value"))?
                .parse::<u64>()
                .map_err(|e| format!("{name}: {e}"))
        };
        match flag.as_str() {
            "--threads" => {
                opts.threads = usize::try_from(value("--threads")?)
                    .map_err(|e| format!("--threads: {e}"))?
                    .max(1)
            }
            "--seconds" => opts.seconds = Some(value("--seconds")?),
            "-h" | "--help" => {
                return Err("usage: dqlite-burn [--threads N] [--seconds S]".into());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(opts)
}

/// Spins until the process exits.
fn spin() {
    let mut x: u64 = 0;
    loop {
        for _ in 0..1_000_000 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

fn main() -> ExitCode {
    let opts = match parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("dqlite-burn: {e}");
            return ExitCode::from(2);
        }
    };
    for _ in 0..opts.threads {
        std::thread::spawn(spin);
    }
    eprintln!("dqlite-burn: {} spinning thread(s)", opts.threads);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dqlite-burn: cannot start the signal runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    runtime.block_on(async {
        let limit = async {
            match opts.seconds {
                Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = dqlite_benchmark::signal::shutdown_signal() => {}
            _ = limit => {}
        }
    });
    eprintln!(
        "dqlite-burn: stopping after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    ExitCode::SUCCESS
}
