//! `dqlite-benchmark` binary (skeleton; its issue adds the workloads and the embedded cluster).

fn main() {
    eprintln!("dqlite-benchmark: not implemented yet (see the dqlite-benchmark issue)");
    std::process::exit(2);
}
