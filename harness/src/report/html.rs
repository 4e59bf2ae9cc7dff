//! timeline.html: one self-contained page per run that shows on one time axis
//! what happened (faults, group membership, throughput, lag, anomalies).
//!
//! The checker already reduced the ledger to the verdict's
//! [`Timeline`](crate::checker::Timeline): bounded series and shapes that
//! count what the verdict counts, so the page stays small whatever the
//! ledger size. The page embeds that data as JSON and a small script draws
//! it as SVG.

use std::fmt::Write as _;
use std::io;

use serde::Serialize;

use crate::checker::timeline::{Exit, Fault, Phase, Span};
use crate::checker::Class;

use crate::judge::{Check, Outcome, Status};

/// File name of the page inside a run folder.
pub const FILE_NAME: &str = "timeline.html";

/// Writes timeline.html into the run folder.
pub fn write(outcome: &Outcome) -> io::Result<()> {
    std::fs::write(outcome.run.dir.join(FILE_NAME), render(outcome))
}

/// The whole page for a run.
pub fn render(outcome: &Outcome) -> String {
    page(outcome, &data(outcome))
}

// ---- the data the page draws ---------------------------------------------

/// The JSON the page script reads: the timeline with short group names, and
/// the findings as marks.
#[derive(Debug, Serialize)]
struct Data<'a> {
    end: u64,
    width: u64,
    phases: &'a [Phase],
    faults: &'a [Fault],
    timings: Vec<Timing>,
    members: Vec<Member<'a>>,
    acked: &'a [u64],
    processed: &'a [u64],
    redelivered: &'a [u64],
    lag: Vec<Lag<'a>>,
    findings: Vec<Mark>,
    clipped: u64,
}

/// A member as drawn: with its group's short name.
#[derive(Debug, Serialize)]
struct Member<'a> {
    name: &'a str,
    group: String,
    starts: &'a [u64],
    spans: &'a [Span],
    exits: &'a [Exit],
}

#[derive(Debug, Serialize)]
struct Lag<'a> {
    group: String,
    values: &'a [u64],
}

/// When a group first showed a fault, and had every partition held again
/// (ms since the run began).
#[derive(Debug, Serialize)]
struct Timing {
    id: u32,
    group: String,
    detected: Option<u64>,
    recovered: Option<u64>,
}

/// A finding at its time.
#[derive(Debug, Serialize)]
struct Mark {
    t: u64,
    class: String,
    violation: bool,
    detail: String,
}

/// The verdict's timeline and findings, as the page script reads them.
fn data(outcome: &Outcome) -> Data<'_> {
    let tl = &outcome.verdict.timeline;
    let short = |g: &str| super::short_group(g, &outcome.run.run_id);
    let members = (tl.members.iter())
        .map(|m| Member { name: &m.name, group: short(&m.group), starts: &m.starts, spans: &m.spans, exits: &m.exits })
        .collect();
    let lag = tl.lag.iter().map(|l| Lag { group: short(&l.group), values: &l.values }).collect();
    let timeouts = tl.drain_timeouts.iter().map(|d| Mark {
        t: d.t,
        class: "drain-timeout".into(),
        violation: true,
        detail: format!("group {} did not process up to the high watermark in time", d.group),
    });
    let timings = (outcome.verdict.faults.iter())
        .flat_map(|f| {
            f.groups.iter().map(move |g| Timing {
                id: f.id,
                group: short(&g.group),
                detected: g.detect_ms.map(|ms| f.start_ms + ms),
                recovered: g.recover_ms.zip(f.end_ms).map(|(ms, end)| end + ms),
            })
        })
        .collect();
    Data {
        end: tl.end,
        width: tl.width,
        phases: &tl.phases,
        faults: &tl.faults,
        timings,
        members,
        acked: &tl.acked,
        processed: &tl.processed,
        redelivered: &tl.redelivered,
        lag,
        findings: findings(outcome).chain(timeouts).collect(),
        clipped: tl.clipped,
    }
}

/// The verdict's findings at their time. Redeliveries are left out: the page
/// shows all of them as a density instead of the first ten.
fn findings(outcome: &Outcome) -> impl Iterator<Item = Mark> + '_ {
    let v = &outcome.verdict;
    let listed = v.findings.iter().filter(|(class, _)| **class != Class::Redelivery).flat_map(|(_, list)| list);
    listed.chain(&v.seek_findings).map(|f| Mark {
        t: f.t,
        class: f.class.name().into(),
        violation: f.class.is_violation(),
        detail: f.detail.clone(),
    })
}

// ---- the page --------------------------------------------------------------

fn page(o: &Outcome, data: &Data) -> String {
    let status = o.status.label();
    let mut s = String::with_capacity(64 * 1024);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{status} {} · faultline</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n<script>{ONERROR}</script>\n",
        escape(&o.scenario)
    );
    s.push_str(&header(o));
    s.push_str(CHART);
    let _ = writeln!(s, "<script type=\"application/json\" id=\"data\">{}</script>", embed(data));
    let _ = write!(s, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    s
}

fn header(o: &Outcome) -> String {
    let t = &o.verdict.totals;
    let (status, class) = match o.status {
        Status::Pass => ("PASS", "pass"),
        Status::Fail => ("FAIL", "fail"),
        Status::CannotJudge => ("CANNOT JUDGE", "unjudged"),
    };
    let mut s = String::new();
    let _ = writeln!(s, "<header>\n<h1><span class=\"{class}\">{status}</span> {}</h1>", escape(&o.scenario));
    if !o.description.is_empty() {
        let _ = writeln!(s, "<p class=\"desc\">{}</p>", escape(&o.description));
    }
    let _ = writeln!(
        s,
        "<p class=\"meta\">{} · {:.1} s · run {}<br>{} sent, {} acked, {} processed ({} unique), \
         {} faults, {} rebalances, {} client errors</p>",
        escape(&o.run.cluster),
        o.run.elapsed.as_secs_f64(),
        escape(&o.run.run_id),
        t.sent,
        t.acked,
        t.processed,
        t.processed_unique,
        t.faults,
        t.rebalances,
        t.client_errors
    );
    for why in &o.unjudged {
        let _ = writeln!(s, "<p class=\"warn\">Cannot judge: {}.</p>", escape(why));
    }
    let _ = writeln!(s, "<div class=\"tables\">\n{}{}</div>\n</header>", expectations(o), counts(o));
    s
}

fn expectations(o: &Outcome) -> String {
    let mut s = String::from(
        "<table>\n<caption>expectations</caption>\n\
         <tr><th>key</th><th>expected</th><th>actual</th><th>ok</th></tr>\n",
    );
    for j in &o.expectations {
        let (ok, class) = match j.check {
            Check::Ok => ("ok", "pass"),
            Check::Violated => ("FAIL", "fail"),
            Check::Unjudged => ("unknown", "unjudged"),
        };
        let implied = if j.stated { "" } else { " class=\"implied\" title=\"implied, not stated in the scenario\"" };
        let _ = writeln!(
            s,
            "<tr{implied}><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"{class}\">{ok}</td></tr>",
            escape(j.key.name()),
            escape(&j.expected.to_string()),
            j.got()
        );
    }
    s.push_str("</table>\n");
    s
}

fn counts(o: &Outcome) -> String {
    let v = &o.verdict;
    let mut s = String::from("<table>\n<caption>anomalies</caption>\n<tr><th>class</th><th>count</th><th></th></tr>\n");
    for class in Class::ALL {
        let n = v.counts.get(&class).copied().unwrap_or(0);
        let tone = match (n, class.is_violation()) {
            (0, _) => "zero",
            (_, true) => "fail",
            (_, false) => "warn",
        };
        let _ = writeln!(
            s,
            "<tr class=\"{tone}\"><td>{}</td><td class=\"num\">{n}</td><td class=\"meaning\">{}</td></tr>",
            class.name(),
            class.meaning()
        );
        if class == Class::Redelivery {
            for c in v.redelivery_causes.iter().take(3) {
                let _ = writeln!(
                    s,
                    "<tr class=\"cause\"><td></td><td class=\"num\">{}</td><td>after {}</td></tr>",
                    c.count,
                    escape(&c.cause)
                );
            }
        }
    }
    s.push_str("</table>\n");
    s
}

/// Text for HTML content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON for a `<script>` block. No `<` is left (it becomes `\u003c`, the
/// same string to JSON), so neither `</script>` nor `<!--` in a name from the
/// ledger can end or bend the block.
fn embed(data: &Data) -> String {
    serde_json::to_string(data).expect("plain data serializes").replace('<', "\\u003c")
}

/// Reports a script error on the page, where a test (or a person) sees it.
const ONERROR: &str = "window.onerror = function (msg) { document.body.dataset.error = String(msg); };";

const CHART: &str = r#"<main>
<div id="chart"></div>
<p id="clipped" hidden></p>
<ul class="legend">
<li><b>faults</b>: one band per fault, from its start to its end (to the end of the run if it never ended); the bands are shaded faintly across every lane. A red tick is when a group first showed the fault (a lost session, a rebalance or a client error: time to detect), a green tick when it held every partition again (time to recover).</li>
<li><b>members</b>: one row per consumer; bars are the partitions it held, labelled with the generation, until revoked, <span class="lost">lost</span> (red) or the worker exited; a red cross is a crash (killed by a signal), a grey tick a clean exit, a green tick a (re)start.</li>
<li><b>throughput</b>: records acked by the broker and records processed, per second.</li>
<li><b>lag</b>: per group, records acked so far less distinct records the group processed so far (an approximation of the consumer lag).</li>
<li><b>anomalies</b>: bars count records processed again by the same group (redeliveries) per time bucket; diamonds are the checker's findings at the time they were revealed (red: violations).</li>
<li>Dashed lines mark the run phases. Hover any mark for details.</li>
</ul>
</main>
"#;

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #222; background: #fbfbfa; margin: 20px 28px; }
h1 { font-size: 20px; margin: 0 0 4px; }
.pass { color: #1a7f37; } .fail { color: #c62828; } .warn, .unjudged { color: #b26a00; }
.desc { margin: 0 0 4px; } .meta { margin: 0 0 10px; color: #555; }
.tables { display: flex; gap: 32px; align-items: flex-start; flex-wrap: wrap; }
table { border-collapse: collapse; font-size: 13px; }
caption { text-align: left; font-weight: 600; padding-bottom: 2px; }
th, td { padding: 1px 10px 1px 0; text-align: left; }
th { color: #666; font-weight: normal; border-bottom: 1px solid #ddd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.implied { color: #777; } tr.zero { color: #999; } tr.cause td { color: #555; font-size: 12px; }
td.meaning { color: #777; }
tr.fail td { color: #c62828; } tr.warn td { color: #b26a00; }
main { margin-top: 16px; }
#chart svg { display: block; background: #fff; border: 1px solid #e3e3e3; }
svg text { font-size: 11px; fill: #333; }
svg .lane { font-weight: 600; font-size: 12px; }
svg .small { fill: #777; font-size: 10px; }
svg .sep { stroke: #eee; }
svg .grid { stroke: #f0f0f0; }
svg .phase { stroke: #888; stroke-dasharray: 3 3; }
svg .shade { fill: #f2a93b; opacity: 0.13; }
svg .fault { fill: #f2a93b; stroke: #c77c0e; }
svg .detect { stroke: #c62828; stroke-width: 2; }
svg .recover { stroke: #2e7d32; stroke-width: 2; }
svg .span { fill: #9cc0e8; stroke: #5b8fc9; }
svg .span.lost { fill: #f0b4b4; stroke: #c62828; }
svg .cut { stroke: #c62828; stroke-width: 3; }
svg .crash { stroke: #c62828; stroke-width: 2.5; }
svg .stop { stroke: #666; stroke-width: 2; }
svg .start { stroke: #2e9d4f; stroke-width: 2; }
svg .line { fill: none; stroke-width: 1.5; }
svg .redelivered { fill: #8e5bc4; shape-rendering: crispEdges; }
svg .lost { fill: #c62828; }
svg .violation { fill: #c62828; } svg .anomaly { fill: #e08a00; }
.legend { color: #555; font-size: 12px; padding-left: 18px; max-width: 1100px; }
.legend .lost { color: #c62828; }
"#;

/// Draws the chart from the JSON block. Every lane draws itself from its
/// top and returns its height; shading and phase lines go behind at the end.
const SCRIPT: &str = r##"
(function () {
  "use strict";
  const d = JSON.parse(document.getElementById("data").textContent);
  const NS = "http://www.w3.org/2000/svg";
  const box = document.getElementById("chart");
  const W = Math.max(900, box.clientWidth);
  const LEFT = 150, RIGHT = 40, ROW = 20, GAP = 12, TOP = 30, AXIS = 24;
  const COLORS = ["#2f6db5", "#2e9d4f", "#8e5bc4", "#d0661c", "#1b9aaa", "#b5475d"];
  const end = Math.max(d.end, 1);
  const x = (t) => LEFT + (t / end) * (W - LEFT - RIGHT);
  const sec = (t) => (t / 1000).toFixed(1) + " s";
  const span = (t0, t1) => sec(t0) + " → " + sec(t1);
  let marks = 0;

  function add(parent, name, attrs, tip) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (tip) add(e, "title", {}).textContent = tip;
    return parent.appendChild(e);
  }
  // Anything drawn inside a lane; the count tells a test that drawing happened.
  function mark(parent, name, attrs, tip) {
    marks++;
    return add(parent, name, attrs, tip);
  }
  function text(parent, x, y, s, cls, anchor) {
    const e = add(parent, "text", { x: x, y: y, class: cls || "", "text-anchor": anchor || "start" });
    e.textContent = s;
    return e;
  }
  function rect(parent, t0, t1, y, h, cls, tip) {
    const x0 = x(t0);
    return mark(parent, "rect", { x: x0, y: y, width: Math.max(x(t1) - x0, 2), height: h, class: cls }, tip);
  }
  // Greedy rows, so that overlapping intervals do not cover each other.
  function rows(items) {
    const ends = [];
    return items.map((it) => {
      let r = ends.findIndex((e) => e <= it.t0);
      if (r < 0) r = ends.push(0) - 1;
      ends[r] = it.t1;
      return r;
    });
  }
  // A series of per-bucket values as a line over [0, h], scaled to `top`.
  function line(g, values, top, h, color, tip) {
    const pts = values.map((v, i) => x((i + 0.5) * d.width).toFixed(1) + "," + (h - (v / top) * h).toFixed(1));
    if (pts.length) mark(g, "path", { d: "M" + pts.join("L"), class: "line", stroke: color }, tip);
  }
  function none(g, what) {
    text(g, LEFT + 6, 14, what, "small");
  }

  const svg = add(box, "svg", { width: W });
  const back = add(svg, "g", {});
  let y = TOP;
  function lane(title, legend, draw) {
    const g = add(svg, "g", { transform: "translate(0," + y + ")" });
    text(g, 8, 13, title, "lane");
    legend.forEach((l, i) => text(g, 8, 27 + i * 13, l[0], "small").setAttribute("style", "fill:" + l[1]));
    const h = Math.max(draw(g), 14 + legend.length * 13);
    add(g, "line", { x1: 0, x2: W, y1: h + GAP / 2, y2: h + GAP / 2, class: "sep" });
    y += h + GAP;
  }

  lane("faults", [], (g) => {
    const row = rows(d.faults);
    d.faults.forEach((f, i) => {
      const tip = "fault #" + f.id + " " + f.kind + " on " + f.target + "\n" +
        (f.ended ? span(f.t0, f.t1) : sec(f.t0) + " → end of run (never ended)") + (f.err ? "\nerror: " + f.err : "");
      rect(g, f.t0, f.t1, row[i] * ROW + 2, ROW - 4, "fault", tip);
      mark(g, "text", { x: x(f.t0) + 4, y: row[i] * ROW + 14 }, tip).textContent = f.kind + " " + f.target;
    });
    d.timings.forEach((tm) => {
      const i = d.faults.findIndex((f) => f.id === tm.id);
      if (i < 0) return;
      const f = d.faults[i], y1 = row[i] * ROW + 1, y2 = row[i] * ROW + ROW - 1;
      if (tm.detected !== null)
        mark(g, "line", { x1: x(tm.detected), x2: x(tm.detected), y1, y2, class: "detect" },
          "group " + tm.group + " showed fault #" + tm.id + " " + sec(tm.detected - f.t0) + " after it started");
      if (tm.recovered !== null)
        mark(g, "line", { x1: x(tm.recovered), x2: x(tm.recovered), y1, y2, class: "recover" },
          "group " + tm.group + " held every partition again " + sec(tm.recovered - f.t1) + " after fault #" + tm.id + " ended");
    });
    if (!d.faults.length) none(g, "no faults");
    return Math.max(1, ...row.map((r) => r + 1)) * ROW;
  });

  lane("members", [], (g) => {
    d.members.forEach((m, r) => {
      const top = r * ROW + 18, mid = top + ROW / 2;
      text(g, 16, mid + 4, m.name + (d.lag.length > 1 ? "  (" + m.group + ")" : ""));
      m.spans.forEach((s) => {
        const label = "p" + s.parts.join(",p") + " · gen " + s.gen;
        const tip = m.name + " (" + m.group + ") held " + label + "\n" + span(s.t0, s.t1) + ", then " + s.end;
        const bar = rect(g, s.t0, s.t1, top + 3, ROW - 6, "span " + s.end, tip);
        if (+bar.getAttribute("width") > label.length * 6 + 8) {
          mark(g, "text", { x: x(s.t0) + 4, y: mid + 4 }, tip).textContent = label;
        }
        if (s.end === "lost") {
          mark(g, "line", { x1: x(s.t1), x2: x(s.t1), y1: top, y2: top + ROW, class: "cut" }, tip);
          mark(g, "text", { x: x(s.t1) + 4, y: mid + 4, class: "lost" }, tip).textContent = "lost";
        }
      });
      m.starts.forEach((t) => {
        mark(g, "line", { x1: x(t), x2: x(t), y1: top + 2, y2: top + ROW - 2, class: "start" }, m.name + " started at " + sec(t));
      });
      m.exits.forEach((e) => {
        const tip = m.name + " " + e.how + " at " + sec(e.t);
        const cx = x(e.t), k = 5;
        if (e.crash) {
          const p = "M" + (cx - k) + "," + (mid - k) + "l" + 2 * k + "," + 2 * k + "M" + (cx - k) + "," + (mid + k) + "l" + 2 * k + "," + -2 * k;
          mark(g, "path", { d: p, class: "crash" }, tip);
        } else {
          mark(g, "line", { x1: cx, x2: cx, y1: top + 2, y2: top + ROW - 2, class: "stop" }, tip);
        }
      });
    });
    if (!d.members.length) none(g, "no consumers");
    return Math.max(1, d.members.length) * ROW + 18;
  });

  const rate = (n) => (n * 1000) / d.width;
  // A lane of lines, with its scale written on the left.
  function chart(g, h, series, unit) {
    const top = Math.max(1, ...series.flatMap((s) => s.values));
    text(g, LEFT - 6, 10, Math.round(top) + unit, "small", "end");
    text(g, LEFT - 6, h, "0", "small", "end");
    add(g, "line", { x1: LEFT, x2: W - RIGHT, y1: h, y2: h, class: "sep" });
    series.forEach((s) => line(g, s.values, top, h, s.color, s.tip));
    return h;
  }

  const flow = [
    { values: d.acked.map(rate), color: "#888", tip: "records acked per second" },
    { values: d.processed.map(rate), color: COLORS[0], tip: "records processed per second" },
  ];
  lane("throughput", [["acked /s", "#888"], ["processed /s", COLORS[0]]], (g) => chart(g, 90, flow, "/s"));

  const lags = d.lag.map((l, i) => ({ values: l.values, color: COLORS[i % COLORS.length], tip: "lag of " + l.group }));
  lane("lag", lags.map((l, i) => [d.lag[i].group, l.color]), (g) => chart(g, 60, lags, ""));

  const redelivered = d.redelivered.reduce((a, n) => a + n, 0);
  const anomalies = [
    ["redelivered: " + redelivered, "#8e5bc4"],
    ["(bars: per " + d.width / 1000 + " s)", "#777"],
    ["findings: " + d.findings.length, "#c62828"],
  ];
  lane("anomalies", anomalies, (g) => {
    const h = 44, top = Math.max(1, ...d.redelivered);
    text(g, LEFT - 6, 10, top, "small", "end");
    d.redelivered.forEach((n, i) => {
      if (!n) return;
      const t0 = i * d.width, bh = Math.max(1.5, (n / top) * h);
      rect(g, t0, t0 + d.width, h - bh, bh, "redelivered", n + " redelivered in " + span(t0, t0 + d.width));
    });
    if (!redelivered) none(g, "no redeliveries");
    d.findings.forEach((f) => {
      const cx = x(f.t), cy = h + 14;
      const p = "M" + cx + "," + (cy - 6) + "l6,6l-6,6l-6,-6z";
      mark(g, "path", { d: p, class: f.violation ? "violation" : "anomaly" }, f.class + " at " + sec(f.t) + "\n" + f.detail);
    });
    if (!d.findings.length) text(g, LEFT + 6, h + 18, "no findings", "small");
    return h + 28;
  });

  // Behind the lanes: time grid, fault shading, phase lines; the axis below.
  const bottom = y - GAP / 2;
  const steps = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
  const step = 1000 * (steps.find((s) => (end / 1000) / s <= 12) || 7200);
  for (let t = 0; t <= end; t += step) {
    add(back, "line", { x1: x(t), x2: x(t), y1: TOP, y2: bottom, class: "grid" });
    text(svg, x(t), bottom + 16, +(t / 1000).toFixed(1) + " s", "small", "middle");
  }
  d.faults.forEach((f) => {
    add(back, "rect", { x: x(f.t0), y: TOP, width: Math.max(x(f.t1) - x(f.t0), 2), height: bottom - TOP, class: "shade" });
  });
  let last = -1e9, level = 0;
  d.phases.forEach((p) => {
    const px = x(p.t);
    level = px - last < 70 ? 1 - level : 0;
    last = px;
    add(back, "line", { x1: px, x2: px, y1: 14 + level * 10, y2: bottom, class: "phase" }, p.name + " at " + sec(p.t));
    text(svg, px + 3, 12 + level * 10, p.name, "small");
  });
  svg.setAttribute("height", bottom + AXIS);
  if (d.clipped) {
    const note = document.getElementById("clipped");
    note.hidden = false;
    note.textContent = d.clipped + " shapes were left out to keep this page small.";
  }
  document.body.dataset.marks = marks;
  document.body.dataset.rendered = "ok";
})();
"##;

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use serde_json::Value;

    use super::*;
    use crate::checker::{self, timeline::MAX_BUCKETS};
    use crate::ledger::RunRecord;
    use crate::ledger::{Entry, Event, RecordId, Role};

    fn entry(t: u64, src: &str, ev: Event) -> Entry {
        Entry { t, src: src.into(), ev }
    }

    fn outcome(entries: impl IntoIterator<Item = Entry>) -> Outcome {
        let run = RunRecord {
            run_id: "r1".into(),
            dir: PathBuf::new(),
            cluster: "mock".into(),
            elapsed: Duration::from_secs(2),
            drain: Duration::ZERO,
        };
        Outcome::new("synthetic", "a few events", &Default::default(), run, checker::check(entries))
    }

    /// The JSON block of a page, parsed.
    fn data(page: &str) -> Value {
        let start = page.find("id=\"data\">").expect("data block") + "id=\"data\">".len();
        let len = page[start..].find("</script>").expect("end of data block");
        serde_json::from_str(&page[start..start + len]).expect("data is JSON")
    }

    fn sum(series: &Value) -> u64 {
        series.as_array().expect("a series").iter().filter_map(Value::as_u64).sum()
    }

    fn ledger(target: &str) -> Vec<Entry> {
        let id = RecordId { producer: 0, seq: 0 };
        vec![
            entry(0, "runner", Event::Phase { name: "workload".into() }),
            entry(10, "g0-m0", Event::Started { role: Role::Consumer, group: Some("faultline-r1-g0".into()) }),
            entry(20, "g0-m0", Event::Assigned { parts: vec![0, 1], generation: 1 }),
            entry(30, "p0", Event::Acked { id, p: 0, o: 0 }),
            entry(40, "g0-m0", Event::Processed { p: 0, o: 0, id }),
            entry(
                500,
                "nemesis",
                Event::FaultStart { id: 1, kind: "crash-consumer".into(), target: target.into(), role: None },
            ),
            entry(600, "g0-m0", Event::Exited { code: None, signal: Some(9) }),
            entry(900, "nemesis", Event::FaultEnd { id: 1, err: None }),
            entry(1000, "g0-m0", Event::Started { role: Role::Consumer, group: Some("faultline-r1-g0".into()) }),
            entry(1010, "g0-m0", Event::Assigned { parts: vec![0, 1], generation: 2 }),
            entry(1200, "g0-m0", Event::Processed { p: 0, o: 0, id }),
        ]
    }

    #[test]
    fn the_page_holds_the_fault_band_the_membership_and_one_redelivery() {
        let o = outcome(ledger("g0-m0"));
        let d = data(&render(&o));
        assert_eq!(d["phases"][0]["name"], "workload");
        assert_eq!(d["faults"][0]["kind"], "crash-consumer");
        assert_eq!((d["faults"][0]["t0"].as_u64(), d["faults"][0]["t1"].as_u64()), (Some(500), Some(900)));
        // The group shows the crash when its member is back (1010), and
        // holds everything again then: the ticks of the verdict's timings.
        assert_eq!(d["timings"], serde_json::json!([{"id": 1, "group": "g0", "detected": 1010, "recovered": 1010}]));
        let m = &d["members"][0];
        assert_eq!(m["group"], "g0");
        assert_eq!(m["starts"], serde_json::json!([10, 1000]));
        assert_eq!(m["spans"][0], serde_json::json!({"t0": 20, "t1": 600, "gen": 1, "parts": [0, 1], "end": "exited"}));
        assert_eq!(
            m["spans"][1],
            serde_json::json!({"t0": 1010, "t1": 1200, "gen": 2, "parts": [0, 1], "end": "open"})
        );
        assert_eq!(m["exits"][0]["crash"], true);
        assert_eq!(sum(&d["redelivered"]), 1);
        assert_eq!(sum(&d["redelivered"]), o.verdict.counts[&Class::Redelivery]);
        assert_eq!(d["lag"][0]["group"], "g0");
        assert_eq!(d["lag"][0]["values"][0], 0);
    }

    #[test]
    fn script_in_a_name_cannot_close_the_data_block() {
        let target = "</script><script>alert(1)</script><!--";
        let page = render(&outcome(ledger(target)));
        assert_eq!(page.matches("</script>").count(), 3, "onerror, data and drawing blocks only");
        assert!(!page.contains("<!--"));
        assert_eq!(data(&page)["faults"][0]["target"], target);
    }

    #[test]
    fn an_unended_fault_runs_to_the_end() {
        let mut entries = ledger("broker-1");
        entries.retain(|e| !matches!(e.ev, Event::FaultEnd { .. }));
        let d = data(&render(&outcome(entries)));
        assert_eq!(d["faults"][0]["t1"], 1200);
        assert_eq!(d["faults"][0]["ended"], false);
    }

    /// The page counts what the verdict counts, even for a consumer that
    /// never said it started.
    #[test]
    fn redeliveries_of_a_consumer_without_a_start_are_drawn() {
        let id = RecordId { producer: 0, seq: 0 };
        let entries = [
            entry(10, "stray", Event::Processed { p: 0, o: 0, id }),
            entry(20, "stray", Event::Processed { p: 0, o: 0, id }),
        ];
        let o = outcome(entries);
        let d = data(&render(&o));
        assert_eq!(o.verdict.counts[&Class::Redelivery], 1);
        assert_eq!(sum(&d["redelivered"]), 1);
        assert_eq!(d["lag"][0]["group"], "stray");
    }

    #[test]
    fn a_drain_timeout_is_a_violation_mark() {
        let mut entries = ledger("broker-1");
        entries.push(entry(1300, "runner", Event::DrainTimeout { group: "faultline-r1-g0".into() }));
        let d = data(&render(&outcome(entries)));
        let findings = d["findings"].as_array().expect("findings");
        let mark = findings.iter().find(|f| f["class"] == "drain-timeout").expect("a drain-timeout mark");
        assert_eq!((mark["t"].as_u64(), mark["class"].as_str()), (Some(1300), Some("drain-timeout")));
        assert_eq!(mark["violation"], true);
        assert!(mark["detail"].as_str().unwrap_or_default().contains("faultline-r1-g0"), "{mark}");
        assert_eq!(d["end"], 1300);
    }

    #[test]
    fn the_page_size_does_not_grow_with_the_ledger() {
        let start = entry(0, "c", Event::Started { role: Role::Consumer, group: Some("g".into()) });
        let events = (0..400_000u64).map(|i| {
            let id = RecordId { producer: 0, seq: i };
            let ev = match i % 2 {
                0 => Event::Acked { id, p: 0, o: i as i64 },
                _ => Event::Processed { p: 0, o: (i % 1000) as i64, id },
            };
            entry(i * 25, "c", ev)
        });
        let o = outcome(std::iter::once(start).chain(events));
        let page = render(&o);
        assert!(page.len() < 200_000, "{} bytes", page.len());
        let d = data(&page);
        assert!(d["processed"].as_array().unwrap().len() <= MAX_BUCKETS as usize);
        assert_eq!(sum(&d["processed"]), 200_000);
        assert_eq!(sum(&d["redelivered"]), o.verdict.counts[&Class::Redelivery]);
        assert_eq!(sum(&d["redelivered"]), 200_000 - 500);
    }
}
