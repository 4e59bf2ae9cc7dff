//! The search: draw schedules until one breaks an expectation, shrink it
//! with proptest's value tree, keeping only candidates that break one of the
//! expectations it broke on every one of `confirm` runs, then re-run the
//! smallest for its reproduction rate. A candidate that breaks only
//! sometimes sits on an edge in time (a crash as a rebalance begins):
//! shrinking moves toward such edges, and would hand back a flaky
//! reproducer. Generic over the values and the trial, so that it can
//! be tested without a broker.

use std::time::Instant;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRng, TestRunner};
use serde::Serialize;

/// How one run of a schedule was judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "judged")]
pub enum Judged {
    /// Expectations broken: their keys, and each as "lost = 0 (got 3)".
    Broke {
        keys: Vec<String>,
        said: Vec<String>,
    },
    Held,
    /// The run could not be judged; why.
    Unjudged {
        why: String,
    },
}

impl Judged {
    /// Broke one of `keys` (any expectation, if `keys` is empty).
    fn breaks(&self, keys: &[String]) -> bool {
        match self {
            Judged::Broke { keys: broke, .. } => keys.is_empty() || broke.iter().any(|k| keys.contains(k)),
            _ => false,
        }
    }
}

/// Which runs a trial is for; the trial names its files after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Search cases, the first numbered `first` (from 0).
    Search { first: usize },
    /// A shrink candidate (from 1), run `runs` times from `first`.
    Shrink { candidate: u32, first: u32 },
    /// Runs of the minimal schedule, from `first`.
    Reproduce { first: u32 },
}

/// What bounds a search.
#[derive(Debug, Clone)]
pub struct Limits {
    pub cases: u32,
    pub deadline: Option<Instant>,
    pub confirm: u32,
    pub reproduce: u32,
    pub max_shrinks: u32,
    /// Runs handed to the trial at once.
    pub jobs: usize,
}

/// Runs the values (at most `jobs` of them), one judgment each in order; an
/// error stops the search (interrupted, the harness failed).
pub type Trial<'a, T> = dyn FnMut(Stage, &[T]) -> Result<Vec<Judged>, String> + 'a;

#[derive(Debug, Clone)]
pub struct Searched<T> {
    /// Every search case and its judgment, in order.
    pub cases: Vec<(T, Judged)>,
    pub found: Option<Found<T>>,
    /// Why the search ended early.
    pub stopped: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Found<T> {
    /// Its index in `cases`.
    pub case: usize,
    pub original: T,
    /// The expectations it broke.
    pub broke: Vec<String>,
    /// Each smaller schedule that still broke one of them, in order.
    pub steps: Vec<T>,
    /// Candidates run while shrinking (accepted or not).
    pub candidates: u32,
    /// The last step (or the original).
    pub minimal: T,
    /// What the minimal schedule broke when it was accepted.
    pub minimal_broke: Vec<String>,
    /// Of `runs` re-runs of the minimal schedule, how many broke one of the
    /// original's expectations.
    pub reproduced: u32,
    pub runs: u32,
}

pub fn search<S>(strategy: &S, rng: TestRng, limits: &Limits, trial: &mut Trial<'_, S::Value>) -> Searched<S::Value>
where
    S: Strategy,
    S::Value: Clone + PartialEq,
{
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let out_of_time = || limits.deadline.is_some_and(|d| Instant::now() >= d);
    let jobs = limits.jobs.max(1);
    let mut out = Searched { cases: Vec::new(), found: None, stopped: None };
    let mut first = None;
    while first.is_none() && out.cases.len() < limits.cases as usize && !out_of_time() {
        let n = jobs.min(limits.cases as usize - out.cases.len());
        let trees = match (0..n).map(|_| strategy.new_tree(&mut runner)).collect::<Result<Vec<_>, _>>() {
            Ok(trees) => trees,
            Err(e) => {
                out.stopped = Some(format!("cannot draw a schedule: {e}"));
                return out;
            }
        };
        let values: Vec<S::Value> = trees.iter().map(|t| t.current()).collect();
        let judged = match trial(Stage::Search { first: out.cases.len() }, &values) {
            Ok(judged) => judged,
            Err(why) => {
                out.stopped = Some(why);
                return out;
            }
        };
        for (tree, (value, judged)) in trees.into_iter().zip(values.into_iter().zip(judged)) {
            if first.is_none() {
                if let Judged::Broke { keys, .. } = &judged {
                    first = Some((out.cases.len(), tree, keys.clone()));
                }
            }
            out.cases.push((value, judged));
        }
    }
    let Some((case, mut tree, keys)) = first else { return out };
    let original = out.cases[case].0.clone();
    let said = |j: &Judged| match j {
        Judged::Broke { said, .. } => said.clone(),
        _ => Vec::new(),
    };
    let mut found = Found {
        case,
        original: original.clone(),
        broke: said(&out.cases[case].1),
        steps: Vec::new(),
        candidates: 0,
        minimal: original.clone(),
        minimal_broke: said(&out.cases[case].1),
        reproduced: 0,
        runs: 0,
    };
    // Candidates already run, so that one met again (a field its kind does
    // not use, shrunk) is not run again.
    let mut seen: Vec<(S::Value, Option<Judged>)> = vec![(original, Some(out.cases[case].1.clone()))];
    let mut shrink = || -> Result<(), String> {
        if !tree.simplify() {
            return Ok(());
        }
        loop {
            if found.candidates >= limits.max_shrinks || out_of_time() {
                return Ok(());
            }
            let value = tree.current();
            let broke = match seen.iter().find(|(v, _)| *v == value) {
                Some((_, j)) => j.clone(),
                None => {
                    found.candidates += 1;
                    let j = confirm(&value, found.candidates, &keys, limits, jobs, trial)?;
                    seen.push((value.clone(), j.clone()));
                    j
                }
            };
            match broke {
                Some(j) => {
                    if value != found.minimal {
                        found.steps.push(value.clone());
                        found.minimal = value;
                        found.minimal_broke = said(&j);
                    }
                    if !tree.simplify() {
                        return Ok(());
                    }
                }
                None if !tree.complicate() => return Ok(()),
                None => {}
            }
        }
    };
    let shrunk = shrink();
    if let Err(why) = shrunk {
        out.stopped = Some(why);
        out.found = Some(found);
        return out;
    }
    while found.runs < limits.reproduce {
        let n = jobs.min((limits.reproduce - found.runs) as usize);
        let values = vec![found.minimal.clone(); n];
        match trial(Stage::Reproduce { first: found.runs }, &values) {
            Ok(judged) => {
                found.reproduced += judged.iter().filter(|j| j.breaks(&keys)).count() as u32;
                found.runs += n as u32;
            }
            Err(why) => {
                out.stopped = Some(why);
                break;
            }
        }
    }
    out.found = Some(found);
    out
}

/// Runs a candidate `limits.confirm` times (`jobs` at once, stopping at a
/// run that held) and returns the first judgment if every run broke one of
/// `keys`.
fn confirm<T: Clone>(
    value: &T,
    candidate: u32,
    keys: &[String],
    limits: &Limits,
    jobs: usize,
    trial: &mut Trial<'_, T>,
) -> Result<Option<Judged>, String> {
    let (mut ran, mut first) = (0, None);
    while ran < limits.confirm.max(1) {
        let n = jobs.min((limits.confirm.max(1) - ran) as usize);
        let judged = trial(Stage::Shrink { candidate, first: ran }, &vec![value.clone(); n])?;
        if !judged.iter().all(|j| j.breaks(keys)) {
            return Ok(None);
        }
        first = first.or(judged.into_iter().next());
        ran += n as u32;
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::test_runner::RngAlgorithm;

    fn rng(seed: u8) -> TestRng {
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32])
    }

    fn limits() -> Limits {
        Limits { cases: 50, deadline: None, confirm: 2, reproduce: 5, max_shrinks: 500, jobs: 2 }
    }

    fn broke(key: &str) -> Judged {
        Judged::Broke { keys: vec![key.into()], said: vec![format!("{key} = 0 (got 1)")] }
    }

    /// A schedule of (kind, start) pairs "breaks" when it holds kind 2 at or
    /// after start 30: the answer is one fault, (2, 30).
    #[test]
    fn shrinks_to_the_one_fault_that_breaks_and_counts_its_steps() {
        let strategy = vec((0u8..4, 0u32..100), 1..6);
        let mut runs = 0;
        let mut trial = |_: Stage, values: &[Vec<(u8, u32)>]| -> Result<Vec<Judged>, String> {
            runs += values.len();
            Ok(values
                .iter()
                .map(|v| if v.iter().any(|&(k, t)| k == 2 && t >= 30) { broke("lost") } else { Judged::Held })
                .collect())
        };
        let out = search(&strategy, rng(7), &limits(), &mut trial);
        let found = out.found.expect("a breaking schedule among 50");
        assert_eq!(found.minimal, vec![(2, 30)], "from {:?}", found.original);
        assert!(!found.steps.is_empty() && found.steps.last() == Some(&found.minimal));
        assert_eq!((found.reproduced, found.runs), (5, 5));
        assert_eq!(found.broke, vec!["lost = 0 (got 1)".to_string()]);
        assert_eq!(
            out.cases.len(),
            found.case + 1 + (found.case % 2 == 0) as usize,
            "the search stops at the batch that broke"
        );
        assert!(runs > out.cases.len());
    }

    #[test]
    fn the_same_seed_draws_the_same_cases() {
        let strategy = vec(0u32..1000, 1..4);
        let drawn = |seed| {
            let mut trial = |_: Stage, values: &[Vec<u32>]| Ok(values.iter().map(|_| Judged::Held).collect());
            let out = search(&strategy, rng(seed), &Limits { cases: 8, ..limits() }, &mut trial);
            out.cases.into_iter().map(|(v, _)| v).collect::<Vec<_>>()
        };
        assert_eq!(drawn(1), drawn(1));
        assert_ne!(drawn(1), drawn(2));
        assert_eq!(drawn(1).len(), 8, "no failure: every case is tried");
    }

    /// A candidate that breaks a different expectation than the original is
    /// not a smaller reproducer of it, nor one that breaks only on some runs.
    #[test]
    fn a_candidate_must_break_what_the_original_broke_on_every_run() {
        let strategy = vec(0u32..100, 1..5);
        // Two or more faults break `lost`; one fault breaks `phantom`, or
        // `lost` on a candidate's first run only.
        let judge = |stage: Stage, i: usize, v: &Vec<u32>| match stage {
            _ if v.len() >= 2 => broke("lost"),
            Stage::Shrink { first, candidate } if first + i as u32 == 0 && candidate % 2 == 0 => broke("lost"),
            _ if v.len() == 1 => broke("phantom"),
            _ => Judged::Held,
        };
        for jobs in [1, 2] {
            let mut trial = |stage: Stage, values: &[Vec<u32>]| -> Result<Vec<Judged>, String> {
                Ok(values.iter().enumerate().map(|(i, v)| judge(stage, i, v)).collect())
            };
            let out = search(&strategy, rng(3), &Limits { jobs, ..limits() }, &mut trial);
            let found = out.found.expect("found");
            assert_eq!(found.minimal.len(), 2, "jobs {jobs}: {:?}", found.minimal);
            assert!(found.minimal.iter().all(|&t| t == 0), "{:?}", found.minimal);
        }
        // With one confirming run, the intermittent candidate is kept.
        let mut trial = |stage: Stage, values: &[Vec<u32>]| -> Result<Vec<Judged>, String> {
            Ok(values.iter().enumerate().map(|(i, v)| judge(stage, i, v)).collect())
        };
        let out = search(&strategy, rng(3), &Limits { jobs: 1, confirm: 1, ..limits() }, &mut trial);
        assert!(out.found.expect("found").minimal.len() <= 2);
    }

    #[test]
    fn an_error_stops_the_search_and_keeps_what_it_found() {
        let strategy = vec(0u32..100, 1..5);
        let mut trial = |stage: Stage, values: &[Vec<u32>]| match stage {
            Stage::Search { .. } => Ok(values.iter().map(|_| broke("lost")).collect()),
            _ => Err("interrupted (Ctrl-C)".to_string()),
        };
        let out = search(&strategy, rng(1), &limits(), &mut trial);
        assert_eq!(out.stopped.as_deref(), Some("interrupted (Ctrl-C)"));
        let found = out.found.expect("the breaking case is kept");
        assert_eq!((found.runs, found.minimal == found.original), (0, true));
    }
}
