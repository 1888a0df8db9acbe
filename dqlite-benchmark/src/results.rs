//! go-dqlite's results files (docs/go-dqlite.md §3.3): one file per (worker, work type)
//! with at least one success, named `<worker>-<exec|query>-<unix seconds>`, in exactly the
//! layout of go-dqlite's `benchmark/tracker.go`. Also a parser for such files.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::tracker::Tracker;
use crate::workload::Work;

/// go-dqlite's `durToMs`: whole milliseconds, a dot, and the nanosecond remainder padded to
/// six digits (`1272716` ns → `1.272716`). Nothing is rounded.
pub fn fmt_ms(ns: u64) -> String {
    format!("{}.{:06}", ns / 1_000_000, ns % 1_000_000)
}

/// The inverse of [`fmt_ms`]; `None` unless the text has exactly that shape.
pub fn parse_ms(text: &str) -> Option<u64> {
    let (ms, rest) = text.split_once('.')?;
    if rest.len() != 6 || !rest.bytes().all(|b| b.is_ascii_digit()) || ms.is_empty() {
        return None;
    }
    let ms: u64 = ms.parse().ok()?;
    ms.checked_mul(1_000_000)?.checked_add(rest.parse().ok()?)
}

/// `<worker>-<work>-<unix seconds>`.
pub fn file_name(worker: usize, work: Work, unix_s: u64) -> String {
    format!("{worker}-{}-{unix_s}", work.name())
}

/// Splits a results file name into (worker, work, unix seconds).
pub fn parse_file_name(name: &str) -> Option<(usize, Work, u64)> {
    let mut parts = name.splitn(3, '-');
    let worker = parts.next()?.parse().ok()?;
    let work = Work::from_name(parts.next()?)?;
    let ts = parts.next()?.parse().ok()?;
    Some((worker, work, ts))
}

/// Writes one tracker in go-dqlite's layout.
pub fn write_report(out: &mut impl Write, t: &Tracker) -> io::Result<()> {
    writeln!(out, "n {}", t.n())?;
    writeln!(out, "n_err {}", t.n_err())?;
    writeln!(out, "avg [ms] {}", fmt_ms(t.avg_ns()))?;
    writeln!(out, "max [ms] {}", fmt_ms(t.max_ns()))?;
    writeln!(out, "min [ms] {}", fmt_ms(t.min_ns()))?;
    writeln!(out, "measurements [timestamp in ns] [ms]")?;
    for (start, d) in t.measurements() {
        writeln!(out, "{start} {}", fmt_ms(d))?;
    }
    writeln!(out)?;
    writeln!(out, "errors")?;
    for (start, message) in t.errors() {
        writeln!(out, "{start} {message}")?;
    }
    writeln!(out)
}

/// [`write_report`] into a string.
pub fn render(t: &Tracker) -> String {
    let mut out = Vec::new();
    write_report(&mut out, t).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("reports are UTF-8")
}

/// Writes the files of every worker into `dir` (created with its parents), skipping
/// trackers without a success as go-dqlite does. Returns the paths written.
pub fn write_dir(dir: &Path, workers: &[[&Tracker; 2]], unix_s: u64) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (i, trackers) in workers.iter().enumerate() {
        for (work, t) in Work::ALL.into_iter().zip(trackers) {
            if t.n() == 0 {
                continue;
            }
            let path = dir.join(file_name(i, work, unix_s));
            let file = fs::File::create(&path)?;
            let mut out = BufWriter::new(file);
            write_report(&mut out, t)?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            written.push(path);
        }
    }
    Ok(written)
}

/// The content of one results file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedFile {
    /// Header `n`.
    pub n: u64,
    /// Header `n_err`.
    pub n_err: u64,
    /// Header `avg [ms]`, in ns.
    pub avg_ns: u64,
    /// Header `max [ms]`, in ns.
    pub max_ns: u64,
    /// Header `min [ms]`, in ns.
    pub min_ns: u64,
    /// (start unix ns, duration ns) lines.
    pub measurements: Vec<(u64, u64)>,
    /// (start unix ns, message) lines.
    pub errors: Vec<(u64, String)>,
}

/// A results file that does not have go-dqlite's layout.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {what}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What was expected.
    pub what: String,
}

/// Parses a results file strictly: every header line, the blank line after the
/// measurements, and the final blank line must be where go-dqlite puts them.
pub fn parse(text: &str) -> Result<ParsedFile, ParseError> {
    let lines: Vec<&str> = text.split('\n').collect();
    let err = |line: usize, what: &str| ParseError {
        line: line + 1,
        what: what.to_owned(),
    };
    let header = |i: usize, prefix: &str| -> Result<&str, ParseError> {
        lines
            .get(i)
            .and_then(|l| l.strip_prefix(prefix))
            .ok_or_else(|| err(i, &format!("expected {prefix:?}")))
    };
    let int = |i: usize, s: &str| s.parse::<u64>().map_err(|_| err(i, "expected an integer"));
    let ms = |i: usize, s: &str| parse_ms(s).ok_or_else(|| err(i, "expected <ms>.<6 digits>"));
    let mut f = ParsedFile {
        n: int(0, header(0, "n ")?)?,
        n_err: int(1, header(1, "n_err ")?)?,
        avg_ns: ms(2, header(2, "avg [ms] ")?)?,
        max_ns: ms(3, header(3, "max [ms] ")?)?,
        min_ns: ms(4, header(4, "min [ms] ")?)?,
        ..ParsedFile::default()
    };
    if lines.get(5) != Some(&"measurements [timestamp in ns] [ms]") {
        return Err(err(5, "expected the measurements header"));
    }
    let mut i = 6;
    while let Some(line) = lines.get(i).filter(|l| !l.is_empty()) {
        let (start, d) = line
            .split_once(' ')
            .ok_or_else(|| err(i, "expected <ns> <ms>"))?;
        f.measurements.push((int(i, start)?, ms(i, d)?));
        i += 1;
    }
    if lines.get(i + 1) != Some(&"errors") {
        return Err(err(i + 1, "expected a blank line, then \"errors\""));
    }
    i += 2;
    while let Some(line) = lines.get(i).filter(|l| !l.is_empty()) {
        let (start, msg) = line
            .split_once(' ')
            .ok_or_else(|| err(i, "expected <ns> <msg>"))?;
        f.errors.push((int(i, start)?, msg.to_owned()));
        i += 1;
    }
    if lines.get(i..) != Some(&["", ""][..]) {
        return Err(err(i, "expected the file to end with one blank line"));
    }
    Ok(f)
}
