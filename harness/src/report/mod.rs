//! Reports: what a person reads in the terminal and what tools read from the
//! run folder (verdict.json beside the ledger, timeline.html for a browser).

mod html;
pub mod junit;
mod summary;
mod table;

pub use summary::render;
pub use table::{table, Row};

use crate::judge::Outcome;

use std::io;

/// Writes verdict.json, summary.txt and timeline.html into the run folder.
pub fn write(outcome: &Outcome) -> io::Result<()> {
    let json = serde_json::to_vec_pretty(outcome).map_err(io::Error::other)?;
    std::fs::write(outcome.run.dir.join("verdict.json"), json)?;
    std::fs::write(outcome.run.dir.join("summary.txt"), render(outcome, false))?;
    html::write(outcome)
}

/// `g0` for the default group name `faultline-<run id>-g0`.
fn short_group(name: &str, run_id: &str) -> String {
    let prefix = format!("faultline-{run_id}-");
    name.strip_prefix(&prefix).unwrap_or(name).to_string()
}
