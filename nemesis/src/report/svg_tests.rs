//! Tests of the timeline.

use serde_json::{json, Value};

use super::{fault_windows, timeline, FaultWindow};
use crate::history::{Op, OpType, Process};

fn op(index: usize, time_ms: u64, process: Process, kind: OpType, f: &str, value: Value) -> Op {
    Op {
        index,
        time: time_ms * 1_000_000,
        process,
        kind,
        f: f.into(),
        value,
        node: None,
        error: None,
    }
}

/// A small history: two clients, a kill healed, a partition never healed.
fn small() -> Vec<Op> {
    let n = Process::NEMESIS;
    let c = Process::Client;
    let entries = [
        (0, c(1), OpType::Invoke, "add", json!(1)),
        (5, n, OpType::Invoke, "kill", json!(["n1"])),
        (12, c(1), OpType::Ok, "add", json!(1)),
        (1500, c(2), OpType::Invoke, "read", Value::Null),
        (1600, c(2), OpType::Fail, "read", Value::Null),
        (2000, n, OpType::Info, "kill", json!(["n1"])),
        (2100, c(1), OpType::Invoke, "add", json!(2)),
        (
            2500,
            n,
            OpType::Invoke,
            "partition",
            json!({"a": ["n1"], "b": ["n2", "n3"]}),
        ),
        (3000, c(1), OpType::Info, "add", json!(2)),
        (3500, n, OpType::Invoke, "kill", json!(["n2"])),
        (3600, n, OpType::Info, "kill", json!(["n2"])),
    ];
    entries
        .into_iter()
        .enumerate()
        .map(|(i, (t, p, k, f, v))| op(i, t, p, k, f, v))
        .collect()
}

#[test]
fn pairs_fault_windows_by_function() {
    let w = fault_windows(&small());
    assert_eq!(
        w,
        [
            FaultWindow {
                f: "kill".into(),
                start: 5_000_000,
                end: Some(2_000_000_000),
                value: json!(["n1"])
            },
            FaultWindow {
                f: "partition".into(),
                start: 2_500_000_000,
                end: None,
                value: json!({"a": ["n1"], "b": ["n2", "n3"]}),
            },
            FaultWindow {
                f: "kill".into(),
                start: 3_500_000_000,
                end: Some(3_600_000_000),
                value: json!(["n2"])
            },
        ]
    );
    // An info with no open window of its function is ignored; overlapping ones end in order.
    let n = Process::NEMESIS;
    let h = [
        op(0, 1, n, OpType::Info, "pause", Value::Null),
        op(1, 2, n, OpType::Invoke, "pause", json!(1)),
        op(2, 3, n, OpType::Invoke, "pause", json!(2)),
        op(3, 4, n, OpType::Info, "pause", Value::Null),
    ];
    let w = fault_windows(&h);
    assert_eq!(w.len(), 2);
    assert_eq!((w[0].end, w[1].end), (Some(4_000_000), None));
}

#[test]
fn draws_a_standalone_document_with_a_band_per_fault() {
    let svg = timeline(&small(), "set against dqlite-server");
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(svg.contains("set against dqlite-server"));
    assert_eq!(svg.matches("class=\"fault\"").count(), 3);
    assert!(svg.contains(">partition<"));
    assert!(!svg.contains("<script") && !svg.contains("href"));
    // Three completed client operations: an ok add, a failed read, an unknown add.
    assert_eq!(svg.matches("class=\"o\"").count(), 1);
    assert_eq!(svg.matches("class=\"f\"").count(), 1);
    assert_eq!(svg.matches("class=\"i\"").count(), 1);
}

#[test]
fn escapes_text_for_xml() {
    let svg = timeline(&small(), "a<b & c>\"d\"");
    assert!(svg.contains("a&lt;b &amp; c&gt;&quot;d&quot;"));
    assert!(!svg.contains("a<b"));
    assert_eq!(timeline(&[], "empty").matches("</svg>").count(), 1);
}

#[test]
fn stays_bounded_on_a_large_history() {
    let mut h = Vec::new();
    let mut t = 0;
    for i in 0..50_000u64 {
        let p = Process::Client(i % 10);
        let kind = if i % 100 == 0 {
            OpType::Info
        } else {
            OpType::Ok
        };
        let f = if i % 2 == 0 { "add" } else { "read" };
        h.push(op(h.len(), t, p, OpType::Invoke, f, json!(i)));
        t += 1 + i % 7;
        h.push(op(h.len(), t, p, kind, f, json!(i)));
        if i % 5000 == 0 {
            h.push(op(
                h.len(),
                t,
                Process::NEMESIS,
                OpType::Invoke,
                "pause",
                json!(["n1"]),
            ));
        }
        if i % 5000 == 2500 {
            h.push(op(
                h.len(),
                t,
                Process::NEMESIS,
                OpType::Info,
                "pause",
                json!(["n1"]),
            ));
        }
    }
    let svg = timeline(&h, "big");
    assert!(svg.len() < 3_000_000, "{} bytes", svg.len());
    // Every unknown operation is drawn; ok ones fill the rest of the budget.
    assert_eq!(svg.matches("class=\"i\"").count(), 500);
    let points = svg.matches("class=\"o\"").count() + 500;
    assert!(
        points <= super::MAX_POINTS && points > super::MAX_POINTS - 10,
        "{points}"
    );
    assert_eq!(svg.matches("class=\"fault\"").count(), 10);
}
