//! The sweep folder: sweep.json (everything), sweep.csv (a row per point),
//! the plots, sweep.html (the table, the plots, a link to every run), and
//! the terminal table. `merge` joins the folders of a partitioned sweep.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use super::axis::leaf_of;
use super::plot;
use super::result::{Metric, PointResult, Summary, SweepResult};
use super::SweepError;

pub const JSON: &str = "sweep.json";
pub const CSV: &str = "sweep.csv";
pub const HTML: &str = "sweep.html";

pub(super) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SweepError + '_ {
    move |source| SweepError::Io { path: path.to_owned(), source }
}

/// sweep.json and sweep.csv, rewritten as each point finishes.
pub(super) fn write_data(dir: &Path, r: &SweepResult) -> Result<(), SweepError> {
    let text = serde_json::to_string_pretty(r).map_err(|e| SweepError::Spec(format!("cannot encode {JSON}: {e}")))?;
    replace(&dir.join(JSON), text.as_bytes())?;
    replace(&dir.join(CSV), &to_csv(r)?)
}

/// Written beside, then renamed: a sweep killed mid-write keeps the last
/// whole file.
fn replace(path: &Path, bytes: &[u8]) -> Result<(), SweepError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Every file of the sweep folder.
pub fn write(dir: &Path, r: &SweepResult) -> Result<(), SweepError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    write_data(dir, r)?;
    let pictures = if r.points.is_empty() {
        Vec::new()
    } else {
        let axes: Vec<plot::Axis> =
            r.axes.iter().map(|a| plot::Axis { path: a.path.clone(), labels: a.values.clone() }).collect();
        let metrics: Vec<plot::Metric> = Metric::ALL.iter().map(|m| plot::Metric { name: m.title().into() }).collect();
        let points: Vec<plot::Point> = r
            .points
            .iter()
            .map(|p| plot::Point {
                coords: p.coords.clone(),
                values: Metric::ALL.iter().map(|&m| p.summary.stat(m)).collect(),
            })
            .collect();
        let title = format!("{} ({} run(s) per point)", r.scenario, r.repeat);
        let data = plot::PlotData { title: &title, axes: &axes, metrics: &metrics, points: &points };
        // The figures are in the table and the CSV: no plot is no reason to lose them.
        plot::write(dir, &data).unwrap_or_else(|e| {
            tracing::warn!("cannot draw the plots in {}: {e}", dir.display());
            Vec::new()
        })
    };
    let html = dir.join(HTML);
    std::fs::write(&html, page(r, &pictures)).map_err(io(&html))?;
    Ok(())
}

fn to_csv(r: &SweepResult) -> Result<Vec<u8>, SweepError> {
    let err = |e: csv::Error| SweepError::Spec(format!("cannot write {CSV}: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(r.axes.iter().map(|a| a.path.clone()));
    header.extend(["runs", "pass", "fail", "cannot_judge", "never_recovered"].map(String::from));
    for m in Metric::ALL {
        header.extend(["n", "min", "median", "max"].map(|s| format!("{}_{s}", m.key())));
    }
    header.push("file".into());
    w.write_record(&header).map_err(err)?;
    for p in &r.points {
        let s = &p.summary;
        let mut row: Vec<String> = vec![p.index.to_string()];
        row.extend(p.values.iter().cloned());
        row.extend([p.runs.len() as u32, s.pass, s.fail, s.cannot_judge, s.never_recovered].map(|n| n.to_string()));
        for m in Metric::ALL {
            match s.stat(m) {
                Some(st) => {
                    row.push(st.n.to_string());
                    row.extend([st.min, st.median, st.max].map(exact));
                }
                None => row.extend(["0", "", "", ""].map(String::from)),
            }
        }
        row.push(p.file.clone());
        w.write_record(&row).map_err(err)?;
    }
    w.into_inner().map_err(|e| SweepError::Spec(format!("cannot write {CSV}: {e}")))
}

/// `1800`, `6.25`: whole numbers without a fraction.
fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:.2}").trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// For the CSV: timings are whole milliseconds, so 4 decimals keep even a
/// median of two exact.
fn exact(x: f64) -> String {
    format!("{x:.4}").trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `1800` when every run agreed, else `900 (0–1800)`: median (min–max);
/// runs whose count is unknown, and groups that never recovered, are said.
fn cell(s: &Summary, m: Metric) -> String {
    let stat = s.stat(m);
    let shown = match stat {
        None => "–".to_string(),
        Some(st) if number(st.min) == number(st.max) => number(st.median),
        Some(st) => format!("{} ({}–{})", number(st.median), number(st.min), number(st.max)),
    };
    let unknown = s.runs().saturating_sub(stat.map_or(0, |st| st.n));
    let said = match m {
        Metric::Recover => (s.never_recovered > 0).then(|| format!("{} never", s.never_recovered)),
        Metric::Detect => None,
        Metric::Redelivered | Metric::Lost | Metric::Premature => (unknown > 0).then(|| format!("{unknown} unknown")),
    };
    match (said, stat) {
        (Some(said), None) => said,
        (Some(said), Some(_)) => format!("{shown}, {said}"),
        (None, _) => shown,
    }
}

/// The terminal table: a line per point.
pub fn render(r: &SweepResult) -> String {
    let mut header: Vec<String> = r.axes.iter().map(|a| leaf_of(&a.path)).collect();
    header.push("verdict".into());
    header.extend(Metric::ALL.iter().map(|m| m.title().to_string()));
    let rows: Vec<Vec<String>> = r
        .points
        .iter()
        .map(|p| {
            let mut row = p.values.clone();
            row.push(p.summary.verdict());
            row.extend(Metric::ALL.iter().map(|&m| cell(&p.summary, m)));
            row
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).chain([header[i].chars().count()]).max().unwrap_or(0))
        .collect();
    let line = |cells: &[String]| {
        let mut s = String::from(" ");
        for (c, w) in cells.iter().zip(&widths) {
            let _ = write!(s, " {c:<w$}");
        }
        s.trim_end().to_string() + "\n"
    };
    let runs: usize = r.points.iter().map(|p| p.runs.len()).sum();
    let mut out = format!(
        "SWEEP  {}  ({} of {} points, {} runs, {:.0}s{})\n",
        r.scenario,
        r.points.len(),
        r.grid,
        runs,
        r.elapsed_s,
        if r.complete { "" } else { ", NOT FINISHED" }
    );
    if let Some(why) = &r.stopped {
        out += &format!("  stopped: {why}\n");
    }
    out += &line(&header);
    for row in &rows {
        out += &line(row);
    }
    out += "  median (min–max) over a point's runs; detect and recover: fault #";
    out += &format!("{}, the slowest group\n", r.fault);
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// sweep.html: what ran, the pictures, and per point a link to each run's
/// timeline and its scenario file.
fn page(r: &SweepResult, pictures: &[PathBuf]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><meta charset=utf-8><title>sweep {0}</title>\
         <style>body{{font:14px sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}th{{background:#f4f4f4}}\
         .fail{{color:#b00}}.cj{{color:#a60}}img{{max-width:100%}}</style>\
         <h1>sweep {0}</h1><p>{1}: {2} of {3} points, {4} run(s) each, {5:.0} s{6}. \
         Detect and recover: fault #{7}, the slowest group; cells are median (min–max).</p>",
        esc(&r.scenario),
        esc(&r.file),
        r.points.len(),
        r.grid,
        r.repeat,
        r.elapsed_s,
        if r.complete { "" } else { ", <b>not finished</b>" },
        r.fault
    );
    for p in pictures.iter().filter(|p| p.extension().is_some_and(|e| e == "svg")) {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let _ = write!(h, "<p><img src=\"{0}\" alt=\"{0}\"></p>", esc(&name));
    }
    h += "<table><tr><th>point</th>";
    for a in &r.axes {
        let _ = write!(h, "<th title=\"{}\">{}</th>", esc(&a.path), esc(&leaf_of(&a.path)));
    }
    h += "<th>verdict</th>";
    for m in Metric::ALL {
        let _ = write!(h, "<th>{}</th>", esc(m.title()));
    }
    h += "<th>runs</th></tr>";
    for p in &r.points {
        let class = if p.summary.cannot_judge > 0 {
            "cj"
        } else if p.summary.fail > 0 {
            "fail"
        } else {
            ""
        };
        let _ = write!(h, "<tr><td><a href=\"{}\">{}</a></td>", esc(&p.file), p.index);
        for v in &p.values {
            let _ = write!(h, "<td>{}</td>", esc(v));
        }
        let _ = write!(h, "<td class=\"{class}\">{}</td>", esc(&p.summary.verdict()));
        for m in Metric::ALL {
            let _ = write!(h, "<td>{}</td>", esc(&cell(&p.summary, m)));
        }
        h += "<td>";
        for run in &p.runs {
            match &run.run_dir {
                Some(d) => {
                    let _ = write!(
                        h,
                        "<a href=\"{0}/timeline.html\" title=\"{0}\">{1}</a> (<a href=\"{0}/summary.txt\">summary</a>) ",
                        esc(d),
                        run.repeat
                    );
                }
                None => {
                    let _ = write!(
                        h,
                        "<span title=\"{}\">{} (error)</span> ",
                        esc(run.error.as_deref().unwrap_or("")),
                        run.repeat
                    );
                }
            }
        }
        h += "</td></tr>";
    }
    h += "</table>";
    h
}

/// Joins the sweep folders of `--partition 1/n` … `n/n` (or any subset)
/// into `out`: the same files, with every point, linking the parts' runs.
pub fn merge(parts: &[PathBuf], out: &Path) -> Result<SweepResult, SweepError> {
    std::fs::create_dir_all(out).map_err(io(out))?;
    let same = |a: &Path, b: &Path| a.canonicalize().ok().is_some_and(|a| b.canonicalize().ok() == Some(a));
    if let Some(p) = parts.iter().find(|p| same(p, out)) {
        return Err(SweepError::Spec(format!(
            "--out {}: that is one of the parts; choose a folder of its own",
            p.display()
        )));
    }
    let mut merged: Option<SweepResult> = None;
    for dir in parts {
        let json = dir.join(JSON);
        let text = std::fs::read_to_string(&json).map_err(io(&json))?;
        let mut part: SweepResult = serde_json::from_str(&text)
            .map_err(|e| SweepError::Spec(format!("{}: not a sweep.json: {e}", json.display())))?;
        if let Some(p) =
            part.points.iter().find(|p| p.values.len() != part.axes.len() || p.coords.len() != part.axes.len())
        {
            return Err(SweepError::Spec(format!(
                "{}: point {} does not have a value per axis",
                json.display(),
                p.index
            )));
        }
        let prefix = relative(out, dir)
            .ok_or_else(|| SweepError::Spec(format!("{}: cannot reach it from {}", dir.display(), out.display())))?;
        for p in &mut part.points {
            p.file = prefix.join(&p.file).display().to_string();
            for run in &mut p.runs {
                run.run_dir = run.run_dir.take().map(|d| prefix.join(d).display().to_string());
            }
        }
        let Some(m) = &mut merged else {
            merged = Some(part);
            continue;
        };
        if (&m.scenario, &m.file, &m.axes, m.repeat, m.fault, m.grid)
            != (&part.scenario, &part.file, &part.axes, part.repeat, part.fault, part.grid)
        {
            return Err(SweepError::Spec(format!(
                "{}: not the same sweep as {} (file, axes, repeat and fault must match)",
                json.display(),
                parts[0].join(JSON).display()
            )));
        }
        for p in part.points {
            if let Some(q) = m.points.iter().find(|q| q.index == p.index) {
                return Err(SweepError::Spec(format!(
                    "point {} is in two of the folders ({} and another)",
                    q.index,
                    dir.display()
                )));
            }
            m.points.push(p);
        }
        m.partitions.extend(part.partitions);
        m.complete &= part.complete;
        m.elapsed_s = m.elapsed_s.max(part.elapsed_s);
    }
    let mut m = merged.ok_or_else(|| SweepError::Spec("sweep merge: no folders given".into()))?;
    m.points.sort_by_key(|p: &PointResult| p.index);
    m.partitions.sort();
    m.complete &= m.points.len() == m.grid;
    write(out, &m)?;
    Ok(m)
}

/// The path from directory `from` to `to`, both existing.
fn relative(from: &Path, to: &Path) -> Option<PathBuf> {
    let (from, to) = (from.canonicalize().ok()?, to.canonicalize().ok()?);
    let (f, t): (Vec<Component>, Vec<Component>) = (from.components().collect(), to.components().collect());
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::Stat;

    #[test]
    fn a_cell_shows_the_spread_only_when_runs_differ() {
        let summary = |runs: u32, never: u32, stat: Option<Stat>| Summary {
            pass: runs,
            fail: 0,
            cannot_judge: 0,
            never_recovered: never,
            stats: Metric::ALL.iter().map(|m| (m.key().to_string(), stat)).collect(),
        };
        let st = |n, min, median, max| Some(Stat { n, min, median, max });
        assert_eq!(cell(&summary(2, 0, st(2, 1800.0, 1800.0, 1800.0)), Metric::Redelivered), "1800");
        assert_eq!(cell(&summary(2, 0, st(2, 0.0, 900.0, 1800.0)), Metric::Redelivered), "900 (0–1800)");
        assert_eq!(cell(&summary(3, 0, st(3, 6.25, 6.5, 7.0)), Metric::Detect), "6.5 (6.25–7)");
        assert_eq!(cell(&summary(3, 0, st(3, 1.201, 1.202, 1.204)), Metric::Detect), "1.2", "equal as shown");
        assert_eq!(cell(&summary(2, 0, None), Metric::Detect), "–");
        // A count one run could not know, and a group that never recovered, are said.
        assert_eq!(cell(&summary(2, 0, st(1, 0.0, 0.0, 0.0)), Metric::Lost), "0, 1 unknown");
        assert_eq!(cell(&summary(2, 0, None), Metric::Lost), "2 unknown");
        assert_eq!(cell(&summary(2, 1, st(1, 0.04, 0.04, 0.04)), Metric::Recover), "0.04, 1 never");
        assert_eq!(cell(&summary(1, 1, None), Metric::Recover), "1 never");
        assert_eq!(number(6.001), "6");
        assert_eq!(exact(9.0605), "9.0605");
    }

    #[test]
    fn a_relative_path_climbs_to_the_common_folder() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/b")).unwrap();
        std::fs::create_dir_all(d.path().join("c")).unwrap();
        assert_eq!(relative(&d.path().join("c"), &d.path().join("a/b")), Some(PathBuf::from("../a/b")));
        assert_eq!(relative(&d.path().join("a"), &d.path().join("a/b")), Some(PathBuf::from("b")));
    }
}
