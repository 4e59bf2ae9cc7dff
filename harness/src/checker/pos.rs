//! Positions of entries in the ledger, and the times they carry.

use std::num::NonZeroU32;

/// Where an entry sits in the ledger: its index + 1, so that `Option<Pos>`
/// costs no space in the per-record state. Saturates past 4 billion entries:
/// positions then stop ordering entries, but nothing breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Pos(NonZeroU32);

impl Pos {
    pub fn of_index(index: u64) -> Pos {
        let raw = u32::try_from(index.saturating_add(1)).unwrap_or(u32::MAX);
        Pos(NonZeroU32::new(raw).unwrap_or(NonZeroU32::MAX))
    }

    /// Orders "done at" positions with "never" after every real one.
    pub fn rank(pos: Option<Pos>) -> u64 {
        pos.map_or(u64::MAX, |pos| u64::from(pos.0.get()))
    }
}

/// Entry times by position, kept only where the time changes: times grow by
/// the millisecond while positions grow by the entry, so this stays small.
#[derive(Debug, Default)]
pub(super) struct Timeline {
    marks: Vec<(Pos, u64)>,
}

impl Timeline {
    pub fn record(&mut self, pos: Pos, t: u64) {
        if self.marks.last().is_none_or(|&(_, last)| last != t) {
            self.marks.push((pos, t));
        }
    }

    pub fn t(&self, pos: Pos) -> u64 {
        let after = self.marks.partition_point(|&(mark, _)| mark <= pos);
        after.checked_sub(1).and_then(|i| self.marks.get(i)).map_or(0, |&(_, t)| t)
    }
}
