//! The terminal summary: readable in ten seconds, details one step away.

use std::fmt::Write;

use crate::checker::Class;
use crate::judge::{Check, Outcome, Status};

/// Renders the summary; `color` adds ANSI colour for terminals.
pub fn render(o: &Outcome, color: bool) -> String {
    let paint = |code: &str, s: &str| if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() };
    let v = &o.verdict;
    let t = &v.totals;
    let mut s = String::new();
    let status = match o.status {
        Status::Pass => paint("1;32", o.status.label()),
        Status::Fail => paint("1;31", o.status.label()),
        Status::CannotJudge => paint("1;33", o.status.label()),
    };
    let _ = writeln!(s, "{status}  {}  ({:.1}s, {})", o.scenario, o.run.elapsed.as_secs_f64(), o.run.cluster);
    if !o.description.is_empty() {
        let _ = writeln!(s, "      {}", o.description.lines().next().unwrap_or(""));
    }
    let _ =
        writeln!(s, "  records    {} sent, {} acked, {} failed, {} in the log", t.sent, t.acked, t.failed, t.audited);
    let _ = writeln!(
        s,
        "  consumed   {} processed ({} unique), {} commits ok, {} commit errors",
        t.processed, t.processed_unique, t.commits_ok, t.commit_errors
    );
    let _ = writeln!(
        s,
        "  events     {} faults, {} rebalances, {} client errors, drain {:.1}s",
        t.faults,
        t.rebalances,
        t.client_errors,
        o.run.drain.as_secs_f64()
    );
    if !v.clients.is_empty() {
        let _ = writeln!(s, "  clients    {}", v.clients.join(", "));
    }
    for f in &v.faults {
        for g in &f.groups {
            let group = super::short_group(&g.group, &o.run.run_id);
            let _ = writeln!(s, "  fault #{}   {} {}, {group}: {}", f.id, f.kind, f.target, timing(g));
        }
    }
    for why in &o.unjudged {
        let _ = writeln!(s, "  {}", paint("33", &format!("cannot judge: {why}")));
    }
    let _ = writeln!(s, "  anomalies");
    for class in Class::ALL {
        let n = v.counts.get(&class).copied().unwrap_or(0);
        let mark = match (n, class.is_violation()) {
            (0, _) => "  ".to_string(),
            (_, true) => paint("31", "!!"),
            (_, false) => paint("33", " ~"),
        };
        let _ = writeln!(s, "  {mark} {:<18} {:>8}   {}", class.name(), n, class.meaning());
        if class == Class::Redelivery {
            for c in v.redelivery_causes.iter().take(3) {
                let _ = writeln!(s, "       {:>26}   after {}", c.count, c.cause);
            }
        } else {
            for f in v.findings.get(&class).into_iter().flatten().take(2) {
                let _ = writeln!(s, "       {:>26}   at {:.1}s: {}", "", f.t as f64 / 1000.0, f.detail);
            }
        }
    }
    if v.skipped_by_seek > 0 {
        let _ = writeln!(
            s,
            "     {:<18} {:>8}   skipped on purpose by an explicit seek",
            "skipped-by-seek", v.skipped_by_seek
        );
        for f in v.seek_findings.iter().take(3) {
            let first: Vec<String> = f.records.iter().map(|r| r.to_string()).collect();
            let _ = writeln!(
                s,
                "       {:>26}   at {:.1}s: {} (first: {})",
                "",
                f.t as f64 / 1000.0,
                f.detail,
                first.join(", ")
            );
        }
    }
    let _ = writeln!(s, "  expectations");
    for j in o.expectations.iter().filter(|j| j.stated || j.check != Check::Ok) {
        let got = format!("got {}", j.got());
        let (mark, got) = match j.check {
            Check::Ok => (paint("32", "ok  "), got),
            Check::Violated => (paint("31", "FAIL"), got),
            Check::Unjudged => (paint("33", "??  "), "unknown: see above".to_string()),
        };
        let _ = writeln!(s, "    {mark} {} {} ({got})", j.key, j.expected);
    }
    let unstated_ok = o.expectations.iter().filter(|j| !j.stated && j.check == Check::Ok).count();
    if unstated_ok > 0 {
        let _ = writeln!(s, "    ok   {unstated_ok} implied (other anomaly classes 0, every group drained)");
    }
    let _ = writeln!(s, "  report     {}", o.run.dir.display());
    // A re-checked ledger of a run that died may have no timeline.
    let timeline = o.run.dir.join("timeline.html");
    if timeline.exists() {
        let _ = writeln!(s, "  timeline   {}", timeline.display());
    }
    s
}

/// "detected after 6.0s, every partition held again 0.2s after the fault ended".
fn timing(g: &crate::checker::GroupTiming) -> String {
    let secs = |ms: u64| format!("{:.1}s", ms as f64 / 1000.0);
    let detect = g.detect_ms.map_or("no sign of it".to_string(), |ms| format!("detected after {}", secs(ms)));
    let recover = match (g.disrupted, g.recover_ms) {
        (false, _) => "every partition held throughout".to_string(),
        (true, Some(ms)) => format!("every partition held again {} after the fault ended", secs(ms)),
        (true, None) => "some partitions never held again".to_string(),
    };
    format!("{detect}, {recover}")
}
