//! The checker: a pure function from a run's ledger to a [`Verdict`].
//!
//! One pass over the entries keeps compact state: per group and partition a
//! vector indexed by offset (who processed it first, when, how often), per
//! producer a vector indexed by sequence number, per partition the audit.
//! What needs the audit, which comes last, is judged at the end in one more
//! pass over that state. Time is linear in the ledger; memory is linear in
//! the records it names, not in its entries, so a ledger can be checked
//! while it is read. The same pass gathers the run's [`Timeline`], what
//! timeline.html draws, so that the page counts what the verdict counts.

mod causes;
mod final_read;
mod finish;
mod groups;
mod ingest;
mod intern;
mod judge;
mod judge_group;
mod logs;
mod marks;
mod members;
mod pos;
mod recovery;
mod slots;
mod sweep;
mod tally;
pub mod timeline;
mod verdict;
mod writes;

pub use recovery::{FaultTiming, GroupTiming};
pub use timeline::Timeline;
pub use verdict::{Cause, Class, Finding, GroupSummary, RecordRef, Totals, Verdict};

use std::collections::HashSet;

use crate::ledger::{self, Entry, ReadError};

/// Checks a ledger file as it is read: one pass, not held in memory.
pub fn check_file(path: &std::path::Path) -> Result<Verdict, ReadError> {
    let mut checker = Checker::default();
    for entry in ledger::read(path)? {
        checker.push(&entry?);
    }
    Ok(checker.finish())
}

/// Checks a whole ledger, in ledger order.
pub fn check<I: IntoIterator<Item = Entry>>(entries: I) -> Verdict {
    let mut checker = Checker::default();
    for entry in entries {
        checker.push(&entry);
    }
    checker.finish()
}

/// [`check`] one entry at a time, for callers that read the ledger
/// themselves: [`Checker::push`] each entry in order, then
/// [`Checker::finish`].
#[derive(Debug, Default)]
pub struct Checker {
    entries: u64,
    timeline: pos::Timeline,
    names: intern::Interner,
    members: members::Members,
    groups: groups::Groups,
    writes: writes::Writes,
    logs: logs::Logs,
    causes: causes::Causes,
    recovery: recovery::Recovery,
    tally: tally::Tally,
    totals: Totals,
    drain_timeouts: Vec<String>,
    clients: Vec<String>,
    jumps: Vec<marks::Jump>,
    seeks: tally::Firsts<marks::SeekMark>,
    copies: tally::Firsts<marks::ExtraCopy>,
    generations: HashSet<(groups::GroupId, i32)>,
    plot: timeline::Plot,
}
