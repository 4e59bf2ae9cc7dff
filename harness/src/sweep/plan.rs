//! From a scenario file and its axes to every point of the grid, each a
//! scenario the loader has validated, before anything runs.

use std::path::{Path, PathBuf};

use toml_edit::DocumentMut;

use super::axis::{self, Axis, FieldPath};
use super::SweepError;
use crate::scenario::{self, Overrides, Scenario};

/// More points than anyone can wait for is a typo, not a sweep.
const MAX_POINTS: usize = 10_000;

/// What a user asked for: the axes from `--vary` (else the file's
/// `[sweep]`), and overrides of its `repeat` and `fault`.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub vary: Vec<Axis>,
    pub repeat: Option<u32>,
    pub fault: Option<u32>,
    pub overrides: Overrides,
}

/// A validated sweep: every point's scenario text and scenario.
#[derive(Debug)]
pub struct Plan {
    pub file: PathBuf,
    /// The base scenario's name.
    pub name: String,
    pub axes: Vec<Axis>,
    pub repeat: u32,
    /// The fault (1-based) whose timings the points report.
    pub fault: u32,
    /// The whole grid, the last axis varying fastest.
    pub points: Vec<Point>,
}

#[derive(Debug)]
pub struct Point {
    pub index: usize,
    /// Per axis, the index of this point's value.
    pub coords: Vec<usize>,
    /// The base file with this point's values written in, and without
    /// `[sweep]`: `faultline run` reproduces the point from it.
    pub text: String,
    pub scenario: Scenario,
}

/// `--partition k/n`: every n-th point, starting at the k-th.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub k: usize,
    pub n: usize,
}

impl std::str::FromStr for Partition {
    type Err = String;
    fn from_str(s: &str) -> Result<Partition, String> {
        let bad = || format!("--partition `{s}`: expected k/n with 1 <= k <= n, as in 2/3");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n) = (k.trim().parse().map_err(|_| bad())?, n.trim().parse().map_err(|_| bad())?);
        if k == 0 || k > n {
            return Err(bad());
        }
        Ok(Partition { k, n })
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl Partition {
    pub fn holds(self, index: usize) -> bool {
        index % self.n == self.k - 1
    }
}

/// Reads the file, resolves the axes and validates every point.
pub fn plan(file: &Path, req: &Request) -> Result<Plan, SweepError> {
    let base = scenario::load_with(file, req.overrides)?;
    let spec = base.sweep.clone();
    let axes = if !req.vary.is_empty() {
        req.vary.clone()
    } else if let Some(spec) = &spec {
        spec.vary
            .iter()
            .enumerate()
            .map(|(i, v)| {
                Axis::from_spec(&v.path, &v.values)
                    .map_err(|e| SweepError::Spec(format!("{}: sweep.vary[{i}]: {e}", file.display())))
            })
            .collect::<Result<_, _>>()?
    } else {
        return Err(SweepError::Spec(format!(
            "{}: nothing to vary: give --vary PATH=V1,V2,... or a [sweep] table in the file",
            file.display()
        )));
    };
    let repeat = req.repeat.or(spec.as_ref().map(|s| s.repeat)).unwrap_or(1);
    let fault = req.fault.or(spec.as_ref().map(|s| s.fault)).unwrap_or(1);
    if repeat == 0 {
        return Err(SweepError::Spec("repeat: at least 1".into()));
    }
    if !base.faults.is_empty() && (fault == 0 || fault as usize > base.faults.len()) {
        return Err(SweepError::Spec(format!(
            "fault: {fault} is not a fault of {} (it has {}, numbered from 1)",
            file.display(),
            base.faults.len()
        )));
    }
    if axes.is_empty() {
        return Err(SweepError::Spec(format!("{}: [sweep] vary is empty: name at least one field", file.display())));
    }
    for (i, a) in axes.iter().enumerate() {
        if a.values.is_empty() {
            return Err(SweepError::Spec(format!("{}: no values", a.path)));
        }
        if axes[..i].iter().any(|b| b.path == a.path) {
            return Err(SweepError::Spec(format!("{}: varied twice", a.path)));
        }
    }

    let size = axes.iter().try_fold(1usize, |n, a| n.checked_mul(a.values.len()).filter(|&n| n <= MAX_POINTS));
    if size.is_none() {
        return Err(SweepError::Spec(format!("the grid has over {MAX_POINTS} points; split it into several sweeps")));
    }
    let doc = document(file, &base, req.overrides).map_err(SweepError::Spec)?;
    let load = |doc: &DocumentMut, setting: String| {
        let oneline = setting.replace(['\n', '\r'], " ");
        let text = format!("# faultline sweep point of {}: {oneline}\n{doc}", file.display());
        // Errors then name the file and the setting they were found with.
        let shown = PathBuf::from(format!("{} with {setting}", file.display()));
        scenario::parse_with(&shown, &text, req.overrides)
            .map(|s| (text, s))
            .map_err(|source| SweepError::Point { setting, source: Box::new(source) })
    };
    let mut points = Vec::new();
    for (index, coords) in grid(&axes).into_iter().enumerate() {
        let mut d = doc.clone();
        let name = format!("{}-p{index:03}", base.name);
        d["name"] = toml_edit::value(name.as_str());
        let mut setting = Vec::new();
        for (a, &c) in axes.iter().zip(&coords) {
            axis::set(&mut d, &a.path, &a.values[c]).map_err(SweepError::Spec)?;
            setting.push(format!("{} = {}", a.path, axis::label(&a.values[c])));
        }
        match load(&d, setting.join(", ")) {
            Ok((text, scenario)) => points.push(Point { index, coords, text, scenario }),
            Err(e) => {
                // Name the one value at fault, if one alone is refused.
                for (a, &c) in axes.iter().zip(&coords) {
                    let mut one = doc.clone();
                    axis::set(&mut one, &a.path, &a.values[c]).map_err(SweepError::Spec)?;
                    load(&one, format!("{} = {}", a.path, axis::label(&a.values[c])))?;
                }
                return Err(e);
            }
        }
    }
    Ok(Plan { file: file.to_owned(), name: base.name, axes, repeat, fault, points })
}

/// The scenario file as a document to write settings into, without its
/// `[sweep]` and `[explore]` tables, and with what the command line
/// overrode written in, so that a file made from it runs as its run ran.
/// `base` is the file loaded with `overrides`.
pub fn document(file: &Path, base: &Scenario, overrides: Overrides) -> Result<DocumentMut, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: cannot read the file: {e}", file.display()))?;
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("{}: {e}", file.display()))?;
    doc.remove("sweep");
    doc.remove("explore");
    let mut fixed = Vec::new();
    if let Some(b) = overrides.backend {
        fixed.push(("cluster.backend".to_string(), b.name()));
    }
    if let Some(c) = overrides.client {
        for (i, _) in base.groups.iter().enumerate().filter(|(_, g)| g.command.is_none()) {
            fixed.push((format!("group[{i}].client"), c.name()));
        }
    }
    for (path, value) in fixed {
        let path: FieldPath = path.parse()?;
        axis::set(&mut doc, &path, &toml_edit::Value::from(value))?;
    }
    Ok(doc)
}

/// Every combination of value indices, the last axis fastest.
fn grid(axes: &[Axis]) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new()];
    for a in axes {
        out = out.into_iter().flat_map(|c| (0..a.values.len()).map(move |i| [c.clone(), vec![i]].concat())).collect();
    }
    out
}
