//! A timeline of a run as one standalone SVG document (no scripts, no external assets):
//! client throughput (completions per second by outcome) above client latency (each
//! completed operation at its completion time, log scale), sharing one time axis in
//! seconds, with the nemesis's fault windows shaded across both panels.
//!
//! The size stays bounded: at most [`MAX_POINTS`] latency points. Failed and unknown
//! operations are all drawn up to three quarters of that; `ok` ones fill the rest, evenly
//! subsampled.

use std::collections::{BTreeSet, HashMap, VecDeque};

use crate::history::{pairs, Op, OpType, Process};

/// The most latency points drawn.
pub const MAX_POINTS: usize = 20_000;

/// A fault the nemesis injected: from its `invoke` to the next `info` entry of the same
/// function (or to the end of the history when it was never healed).
#[derive(Debug, Clone, PartialEq)]
pub struct FaultWindow {
    /// The nemesis function (`"kill"`, `"partition"`, ...).
    pub f: String,
    /// When it started (nanoseconds since the run started).
    pub start: u64,
    /// When it ended, if it did.
    pub end: Option<u64>,
    /// The value of the `invoke` entry that started it.
    pub value: serde_json::Value,
}

/// The fault windows of a history, in order of start. Each nemesis `info` entry ends the
/// oldest open window of its function; one with no open window is ignored.
pub fn fault_windows(history: &[Op]) -> Vec<FaultWindow> {
    let mut windows: Vec<FaultWindow> = Vec::new();
    let mut open: HashMap<&str, VecDeque<usize>> = HashMap::new();
    for op in history.iter().filter(|op| op.process == Process::NEMESIS) {
        match op.kind {
            OpType::Invoke => {
                open.entry(&op.f).or_default().push_back(windows.len());
                windows.push(FaultWindow {
                    f: op.f.clone(),
                    start: op.time,
                    end: None,
                    value: op.value.clone(),
                });
            }
            OpType::Info => {
                if let Some(i) = open.get_mut(op.f.as_str()).and_then(VecDeque::pop_front) {
                    windows[i].end = Some(op.time);
                }
            }
            _ => {}
        }
    }
    windows
}

const W: f64 = 1200.0;
const LEFT: f64 = 80.0;
const PLOT_W: f64 = 900.0;
const TOP: f64 = 60.0;
const TP_H: f64 = 200.0;
const LAT_TOP: f64 = TOP + TP_H + 40.0;
const LAT_H: f64 = 300.0;
const BOTTOM: f64 = LAT_TOP + LAT_H;
const H: f64 = BOTTOM + 50.0;
const OUTCOMES: [(OpType, &str, &str); 3] = [
    (OpType::Ok, "ok", "#2ca02c"),
    (OpType::Fail, "fail", "#d62728"),
    (OpType::Info, "info", "#ff7f0e"),
];
const FAULT_COLOURS: [&str; 8] = [
    "#9ecae1", "#fdd0a2", "#c7e9c0", "#dadaeb", "#fcbba1", "#d9d9d9", "#fee391", "#c6dbef",
];

/// The timeline of a history as a standalone SVG document titled `title`.
pub fn timeline(history: &[Op], title: &str) -> String {
    let end_ns = history.iter().map(|op| op.time).max().unwrap_or(0);
    let span = (end_ns as f64 / 1e9).max(0.001);
    let x = |ns: u64| LEFT + (ns as f64 / 1e9) / span * PLOT_W;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <style>.o{{fill:#2ca02c}}.f{{fill:#d62728}}.i{{fill:#ff7f0e}}.ax{{stroke:#333;fill:none}}.g{{stroke:#ddd}}</style>\n\
         <rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"25\" font-size=\"16\" text-anchor=\"middle\">{}</text>\n",
        W / 2.0,
        escape(title)
    );

    // Fault windows, under everything else.
    let windows = fault_windows(history);
    let fault_fs: Vec<&str> = windows
        .iter()
        .map(|w| w.f.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let colour = |f: &str| {
        FAULT_COLOURS[fault_fs.iter().position(|g| *g == f).unwrap_or(0) % FAULT_COLOURS.len()]
    };
    for (k, w) in windows.iter().enumerate() {
        let (x0, x1) = (x(w.start), x(w.end.unwrap_or(end_ns)));
        let to = w
            .end
            .map_or("end".to_owned(), |e| format!("{:.3} s", e as f64 / 1e9));
        out += &format!(
            "<rect class=\"fault\" x=\"{x0:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{}\" fill=\"{}\" fill-opacity=\"0.5\"><title>{} {} from {:.3} s to {to}</title></rect>\n\
             <text x=\"{:.1}\" y=\"{}\" font-size=\"9\">{}</text>\n",
            (x1 - x0).max(1.0),
            BOTTOM - TOP,
            colour(&w.f),
            escape(&w.f),
            escape(&w.value.to_string()),
            w.start as f64 / 1e9,
            x0 + 2.0,
            TOP + 10.0 + 10.0 * (k % 3) as f64,
            escape(&w.f),
        );
    }

    // Time axis, shared: grid lines through both panels, labels below.
    let step = nice_step(span, 10.0);
    let mut t = 0.0;
    while t <= span + step * 1e-9 {
        let px = LEFT + t / span * PLOT_W;
        out += &format!(
            "<line class=\"g\" x1=\"{px:.1}\" y1=\"{TOP}\" x2=\"{px:.1}\" y2=\"{BOTTOM}\"/><text x=\"{px:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
            BOTTOM + 15.0,
            fmt_num(t, step)
        );
        t += step;
    }
    out += &format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">time (s)</text>\n",
        LEFT + PLOT_W / 2.0,
        BOTTOM + 35.0
    );

    let all = pairs(history);
    throughput(&mut out, &all, span);
    latency(&mut out, &all, &x);
    legend(&mut out, &all, &windows, &fault_fs, &colour);
    out += "</svg>\n";
    out
}

/// The throughput panel: completions per second by outcome, as lines.
fn throughput(out: &mut String, all: &[crate::history::Pair<'_>], span: f64) {
    let bucket = if span <= 400.0 {
        1.0
    } else {
        nice_step(span, 400.0)
    };
    let n = (span / bucket).ceil().max(1.0) as usize;
    let mut counts = vec![[0usize; 3]; n];
    for c in all.iter().filter_map(|p| p.completion) {
        if let Some(k) = OUTCOMES.iter().position(|o| o.0 == c.kind) {
            let b = ((c.time as f64 / 1e9 / bucket) as usize).min(n - 1);
            counts[b][k] += 1;
        }
    }
    let max = counts.iter().flatten().copied().max().unwrap_or(0) as f64 / bucket;
    let ystep = nice_step(max.max(1.0), 5.0);
    let ymax = (max / ystep).ceil().max(1.0) * ystep;
    let y = |v: f64| TOP + TP_H - v / ymax * TP_H;
    axes(out, TOP, TP_H, "completions / s");
    let mut v = 0.0;
    while v <= ymax + ystep * 1e-9 {
        tick(out, y(v), &fmt_num(v, ystep));
        v += ystep;
    }
    for (k, (_, _, colour)) in OUTCOMES.iter().enumerate() {
        let points: Vec<String> = (0..n)
            .map(|b| {
                let t = ((b as f64 + 0.5) * bucket).min(span);
                format!(
                    "{:.1},{:.1}",
                    LEFT + t / span * PLOT_W,
                    y(counts[b][k] as f64 / bucket)
                )
            })
            .collect();
        *out += &format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"/>\n",
            points.join(" ")
        );
    }
}

/// The latency panel: one marker per completed client operation, log scale in ms.
fn latency(out: &mut String, all: &[crate::history::Pair<'_>], x: &dyn Fn(u64) -> f64) {
    let fs = client_fs(all);
    // (completion time, latency in ms, outcome class, f) of every completed operation.
    let mut ok = Vec::new();
    let mut other = Vec::new();
    for p in all {
        let Some(c) = p.completion else { continue };
        let ms = (c.time.saturating_sub(p.invoke.time) as f64 / 1e6).max(1e-3);
        let shape = fs.iter().position(|f| *f == p.invoke.f).unwrap_or(0) % 4;
        let point = (c.time, ms, c.kind, shape);
        if c.kind == OpType::Ok {
            ok.push(point)
        } else {
            other.push(point)
        }
    }
    let other = subsample(other, MAX_POINTS * 3 / 4);
    let ok = subsample(ok, MAX_POINTS - other.len());
    let (lo, hi) = ok
        .iter()
        .chain(&other)
        .fold((f64::MAX, f64::MIN), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
    let (lo, mut hi) = if lo > hi {
        (0, 3)
    } else {
        (lo.log10().floor() as i32, hi.log10().ceil() as i32)
    };
    if hi <= lo {
        hi = lo + 1;
    }
    let y = |ms: f64| BOTTOM - (ms.log10() - f64::from(lo)) / f64::from(hi - lo) * LAT_H;
    axes(out, LAT_TOP, LAT_H, "latency (ms, log)");
    for k in lo..=hi {
        tick(out, y(10f64.powi(k)), &fmt_ms(k));
    }
    for (t, ms, kind, shape) in ok.iter().chain(&other) {
        let class = match kind {
            OpType::Ok => "o",
            OpType::Fail => "f",
            _ => "i",
        };
        marker(out, x(*t), y(*ms), *shape, class);
    }
}

/// The legend, right of the panels: outcomes, operation shapes, fault colours.
fn legend(
    out: &mut String,
    all: &[crate::history::Pair<'_>],
    windows: &[FaultWindow],
    fault_fs: &[&str],
    colour: &dyn Fn(&str) -> &'static str,
) {
    let lx = LEFT + PLOT_W + 20.0;
    let mut ly = TOP + 10.0;
    for (_, name, colour) in OUTCOMES {
        *out += &format!("<rect x=\"{lx}\" y=\"{}\" width=\"12\" height=\"4\" fill=\"{colour}\"/><text x=\"{}\" y=\"{ly}\">{name}</text>\n", ly - 5.0, lx + 18.0);
        ly += 16.0;
    }
    ly += 8.0;
    for (k, f) in client_fs(all).iter().enumerate() {
        marker(out, lx + 6.0, ly - 4.0, k % 4, "ax");
        *out += &format!(
            "<text x=\"{}\" y=\"{ly}\">{}</text>\n",
            lx + 18.0,
            escape(f)
        );
        ly += 16.0;
    }
    ly += 8.0;
    for f in fault_fs {
        let n = windows.iter().filter(|w| w.f == *f).count();
        *out += &format!("<rect x=\"{lx}\" y=\"{}\" width=\"12\" height=\"10\" fill=\"{}\" fill-opacity=\"0.5\"/><text x=\"{}\" y=\"{ly}\">{} ({n})</text>\n", ly - 9.0, colour(f), lx + 18.0, escape(f));
        ly += 16.0;
    }
}

/// The distinct client functions, sorted.
fn client_fs<'h>(all: &[crate::history::Pair<'h>]) -> Vec<&'h str> {
    all.iter()
        .map(|p| p.invoke.f.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A panel's frame and y-axis title.
fn axes(out: &mut String, top: f64, h: f64, label: &str) {
    *out += &format!(
        "<rect class=\"ax\" x=\"{LEFT}\" y=\"{top}\" width=\"{PLOT_W}\" height=\"{h}\"/><text transform=\"translate(20 {:.1}) rotate(-90)\" text-anchor=\"middle\">{label}</text>\n",
        top + h / 2.0
    );
}

/// A y tick with its label and grid line.
fn tick(out: &mut String, y: f64, label: &str) {
    *out += &format!(
        "<line class=\"g\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text>\n",
        LEFT + PLOT_W,
        LEFT - 5.0,
        y + 4.0
    );
}

/// One marker: circle, square, triangle or diamond.
fn marker(out: &mut String, x: f64, y: f64, shape: usize, class: &str) {
    *out += &match shape {
        0 => format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2\" class=\"{class}\"/>\n"),
        1 => format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"4\" height=\"4\" class=\"{class}\"/>\n",
            x - 2.0,
            y - 2.0
        ),
        2 => format!(
            "<path d=\"M{x:.1},{:.1}l2.5,4.5h-5z\" class=\"{class}\"/>\n",
            y - 2.5
        ),
        _ => format!(
            "<path d=\"M{x:.1},{:.1}l2.5,2.5l-2.5,2.5l-2.5,-2.5z\" class=\"{class}\"/>\n",
            y - 2.5
        ),
    };
}

/// At most `n` of `items`, evenly spread.
fn subsample<T: Copy>(items: Vec<T>, n: usize) -> Vec<T> {
    if items.len() <= n {
        return items;
    }
    (0..n).map(|i| items[i * items.len() / n]).collect()
}

/// A step of 1, 2 or 5 times a power of ten that cuts `range` into about `target` parts.
fn nice_step(range: f64, target: f64) -> f64 {
    let raw = (range / target).max(1e-9);
    let pow = 10f64.powf(raw.log10().floor());
    let m = raw / pow;
    pow * if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    }
}

/// A tick value with as many decimals as its step needs.
fn fmt_num(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    format!("{v:.decimals$}")
}

/// The label of the latency tick 10^k ms.
fn fmt_ms(k: i32) -> String {
    match k {
        k if k >= 3 => format!("{} s", 10u64.pow((k - 3).unsigned_abs())),
        k if k >= 0 => format!("{} ms", 10u64.pow(k.unsigned_abs())),
        k => format!("{} ms", 10f64.powi(k)),
    }
}

/// Text escaped for XML content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[path = "svg_tests.rs"]
mod tests;
