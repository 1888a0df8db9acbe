//! Golden tests of the go-dqlite results format, and round trips through our parser and
//! `scripts/summarise-results.py`.

use dqlite_benchmark::results::{self, fmt_ms, parse, parse_ms, render};
use dqlite_benchmark::tracker::{ErrorKind, Tracker};
use dqlite_benchmark::workload::Work;
use dqlite_testkit::TempDir;

use crate::util;

/// The numbers of the sample in docs/go-dqlite.md §3.3, recorded in a tracker.
fn sample() -> Tracker {
    let mut t = Tracker::new();
    t.record_err(
        1_795_588_249_198_406_970,
        ErrorKind::Busy,
        "database is locked",
    );
    t.record_ok(1_795_588_249_201_396_534, 1_272_716);
    t.record_ok(1_795_588_249_202_000_000, 31_981_181);
    t.record_ok(1_795_588_249_203_000_001, 353_066);
    t.record_err(
        1_795_588_249_203_500_000,
        ErrorKind::Busy,
        "database is locked",
    );
    t
}

#[test]
fn durations_use_go_dqlite_dur_to_ms() {
    assert_eq!(fmt_ms(0), "0.000000");
    assert_eq!(fmt_ms(1), "0.000001");
    assert_eq!(fmt_ms(999_999), "0.999999");
    assert_eq!(fmt_ms(1_000_000), "1.000000");
    assert_eq!(fmt_ms(1_272_716), "1.272716");
    assert_eq!(fmt_ms(5_415_000_123), "5415.000123");
    for ns in [0, 7, 1_272_716, 31_981_181, 5_415_000_123, u64::MAX] {
        assert_eq!(parse_ms(&fmt_ms(ns)), Some(ns));
    }
    assert_eq!(parse_ms("1.27"), None);
    assert_eq!(parse_ms("1.2727160"), None);
    assert_eq!(parse_ms(".272716"), None);
}

#[test]
fn golden_file_with_errors() {
    // avg = (1272716 + 31981181 + 353066) / 3 = 11202321 (integer division).
    let expected = "\
n 3
n_err 2
avg [ms] 11.202321
max [ms] 31.981181
min [ms] 0.353066
measurements [timestamp in ns] [ms]
1795588249201396534 1.272716
1795588249202000000 31.981181
1795588249203000001 0.353066

errors
1795588249198406970 database is locked
1795588249203500000 database is locked

";
    assert_eq!(render(&sample()), expected);
}

#[test]
fn golden_file_without_errors_ends_with_errors_and_one_blank_line() {
    let mut t = Tracker::new();
    t.record_ok(100, 2);
    t.record_ok(200, 1);
    let text = render(&t);
    // avg = 3 / 2 = 1 ns: integer division truncates.
    assert_eq!(
        text,
        "n 2\nn_err 0\navg [ms] 0.000001\nmax [ms] 0.000002\nmin [ms] 0.000001\n\
         measurements [timestamp in ns] [ms]\n100 0.000002\n200 0.000001\n\nerrors\n\n"
    );
    assert!(text.ends_with("errors\n\n"));
}

#[test]
fn parser_reads_back_the_recorded_numbers() {
    let t = sample();
    let parsed = parse(&render(&t)).unwrap();
    assert_eq!((parsed.n, parsed.n_err), (3, 2));
    assert_eq!(
        (parsed.avg_ns, parsed.max_ns, parsed.min_ns),
        (11_202_321, 31_981_181, 353_066)
    );
    assert_eq!(parsed.measurements, t.measurements().collect::<Vec<_>>());
    let errors: Vec<(u64, String)> = t.errors().map(|(s, m)| (s, m.to_owned())).collect();
    assert_eq!(parsed.errors, errors);
}

#[test]
fn parser_rejects_other_layouts() {
    let good = render(&sample());
    for bad in [
        good.replace("n_err", "nerr"),
        good.replace("\n\nerrors", "\nerrors"),
        good.trim_end().to_owned(),
        good.replace("1.272716", "1.27"),
        format!("{good}\n"),
    ] {
        assert!(parse(&bad).is_err(), "accepted:\n{bad}");
    }
}

#[test]
fn file_names_follow_go_dqlite() {
    assert_eq!(
        results::file_name(0, Work::Exec, 1_795_588_252),
        "0-exec-1795588252"
    );
    assert_eq!(results::file_name(12, Work::Query, 7), "12-query-7");
    assert_eq!(
        results::parse_file_name("3-query-1795588252"),
        Some((3, Work::Query, 1_795_588_252))
    );
    assert_eq!(results::parse_file_name("summary.json"), None);
    assert_eq!(results::parse_file_name("3-none-1"), None);
}

#[test]
fn results_dir_round_trips_through_both_parsers() {
    let dir = TempDir::new("bench-format").unwrap();
    let results_dir = dir.path().join("127.0.0.1:9001").join("results");
    // Worker 0: writes and reads. Worker 1: writes, and reads that all failed (no file).
    let w0_exec = sample();
    let mut w0_query = Tracker::new();
    for i in 0..50u64 {
        w0_query.record_ok(
            1_795_588_250_000_000_000 + i * 1_000_000,
            100_000 + i * 1_234,
        );
    }
    let mut w1_exec = Tracker::new();
    w1_exec.record_ok(1_795_588_250_100_000_000, 5_415_000_123);
    w1_exec.record_err(
        1_795_588_250_200_000_000,
        ErrorKind::CommitUnknown,
        "outcome of the write is unknown: x",
    );
    let mut w1_query = Tracker::new();
    w1_query.record_err(
        1_795_588_250_300_000_000,
        ErrorKind::Other,
        "sql: no rows in result set",
    );
    let workers = [[&w0_exec, &w0_query], [&w1_exec, &w1_query]];
    let written = results::write_dir(&results_dir, &workers, 1_795_588_252).unwrap();
    assert_eq!(written.len(), 3, "no file for a tracker without successes");

    let files = util::read_dir(&results_dir);
    let keys: Vec<_> = files.keys().copied().collect();
    assert_eq!(keys, [(0, Work::Exec), (0, Work::Query), (1, Work::Exec)]);
    for ((worker, work), parsed) in &files {
        let t = workers[*worker][usize::from(*work == Work::Query)];
        assert_eq!(parsed.n, t.n());
        assert_eq!(parsed.n_err, t.n_err());
        assert_eq!(parsed.avg_ns, t.avg_ns());
        assert_eq!(parsed.max_ns, t.max_ns());
        assert_eq!(parsed.min_ns, t.min_ns());
        assert_eq!(parsed.measurements, t.measurements().collect::<Vec<_>>());
    }
    util::check_with_python(&results_dir);
    // summarise-results.py also finds `results/` below a parent directory.
    let s = util::python_summary(dir.path());
    assert_eq!(s["files"], 3);
    assert_eq!(s["works"]["exec"]["n"], 4);
    assert_eq!(s["works"]["query"]["n"], 50);
    assert_eq!(s["errors"], 3);
}
