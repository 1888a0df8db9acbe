//! Integration tests of dqlite-server: in-process clusters and spawned processes on loopback.

mod util;

mod test_faults;
mod test_gateway;
mod test_hardening;
mod test_hostile;
mod test_limits;
mod test_process;
mod test_reads;
mod test_replication;
mod test_snapshot_kill;
mod test_stall;
mod test_stream;
