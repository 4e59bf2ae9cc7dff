//! What an exploration shows: the progress bar, the closing summary, and
//! the header of minimal.toml.

use std::fmt::Write;

use super::{ExploreResult, FoundResult, Judged, Plan};

pub(super) fn bar(on: bool, cases: u64) -> indicatif::ProgressBar {
    if !on {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(cases);
    bar.set_style(
        indicatif::ProgressStyle::with_template("explore {bar:30} {pos}/{len} cases, {elapsed} so far  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_secs(1));
    bar
}

/// The comment minimal.toml starts with: how it was found and how well it
/// reproduces.
pub(super) fn header(plan: &Plan, f: &FoundResult) -> Vec<String> {
    let file = plan.file.display();
    let mut h = vec![
        "faultline explore: the smallest fault schedule found that still breaks an expectation".to_string(),
        format!("  explored    {file}, seed {}", plan.seed),
        format!("  repeat      faultline explore {} (draws the same schedules)", plan.repeat()),
        format!("  found       case {}: {}", f.case, f.original),
        format!("  broke       {}", f.broke.join(", ")),
        format!(
            "  shrunk      {} step(s), {} candidate(s) run (each kept only if {} run(s) in a row broke one of the above)",
            f.steps.len(),
            f.candidates,
            f.confirm
        ),
    ];
    h.extend(f.steps.iter().enumerate().map(|(i, s)| format!("    {:>2}. {s}", i + 1)));
    h.push(format!("  minimal     {}", f.minimal));
    h.push(format!("  which broke {}", f.minimal_broke.join(", ")));
    h.push(format!("  reproduces  {}/{} runs", f.reproduced, f.runs));
    h.push("  run it      faultline run minimal.toml".to_string());
    h
}

/// The closing summary, readable in ten seconds.
pub fn render(r: &ExploreResult, out: &std::path::Path) -> String {
    let mut s = String::new();
    let verdict = match (&r.found, &r.stopped) {
        (Some(_), _) => "FOUND",
        (None, Some(_)) => "STOPPED",
        (None, None) => "NOTHING FOUND",
    };
    let _ = writeln!(s, "{verdict}  {}  seed {}  ({:.0}s, {} runs)", r.scenario, r.seed, r.elapsed_s, r.runs);
    let broke = r.cases.iter().filter(|c| matches!(c.judged, Judged::Broke { .. })).count();
    let unjudged = r.cases.iter().filter(|c| matches!(c.judged, Judged::Unjudged { .. })).count();
    let per_min = if r.search_s > 0.0 { r.cases.len() as f64 * 60.0 / r.search_s } else { 0.0 };
    let _ = writeln!(
        s,
        "  searched   {} case(s) in {:.0}s ({per_min:.1} per minute): {broke} broke an expectation, {unjudged} could not be judged",
        r.cases.len(),
        r.search_s
    );
    let covered: Vec<String> = r.covered.iter().map(|(k, n)| format!("{k} x{n}")).collect();
    let (lo, hi) = r.cases.iter().fold((usize::MAX, 0), |(lo, hi), c| (lo.min(c.faults), hi.max(c.faults)));
    if !r.cases.is_empty() {
        let _ = writeln!(s, "  covered    {}; {lo} to {hi} fault(s) per case", covered.join(", "));
    }
    if let Some(f) = &r.found {
        let _ = writeln!(s, "  broke      case {}: {}", f.case, f.broke.join(", "));
        let _ = writeln!(s, "             {}", f.original);
        let _ = writeln!(
            s,
            "  shrunk     {} step(s) ({} candidate(s), each kept only if {} run(s) in a row broke it)",
            f.steps.len(),
            f.candidates,
            f.confirm
        );
        let _ = writeln!(s, "  minimal    {}", f.minimal);
        let _ = writeln!(s, "  reproduces {}/{} runs", f.reproduced, f.runs);
        let _ = writeln!(s, "  file       {}  (faultline run it)", out.join(&f.file).display());
    } else if r.stopped.is_none() {
        let _ = writeln!(
            s,
            "  nothing    no schedule broke an expectation: not a proof, only that these {} held",
            r.cases.len()
        );
    }
    if let Some(why) = &r.stopped {
        let _ = writeln!(s, "  stopped    {why}");
    }
    for c in r
        .cases
        .iter()
        .filter_map(|c| match &c.judged {
            Judged::Unjudged { why } => Some(format!("{}: {why}", c.file)),
            _ => None,
        })
        .take(3)
    {
        let _ = writeln!(s, "  unjudged   {c}");
    }
    let _ = writeln!(s, "  repeat     faultline explore {}", r.repeat);
    let _ = writeln!(s, "  folder     {}", out.display());
    s
}
