//! `dqlite-nemesis`: the command line.

fn main() {}
