//! `dqlite-server` binary (skeleton; its issue makes it serve).

fn main() {
    eprintln!("dqlite-server: not implemented yet (see the dqlite-server issue)");
    std::process::exit(2);
}
