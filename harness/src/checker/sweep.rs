//! One pass over the offsets a partition's log holds, for one group, in
//! offset order: which records the group processed or seeked past, and which
//! commit observations ran past records it had not processed yet. Linear in
//! the offsets, plus a sort of the (few) commits and seeks.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::groups::{GroupPart, SeekRange};
use super::pos::Pos;
use super::tally::RECORDS;
use crate::ledger::Offset;

/// One offset of the log, as the group saw it.
pub(super) struct Visit {
    pub o: Offset,
    pub processed: bool,
    /// Some member seeked past it.
    pub sought: bool,
}

/// A commit observation that ran past records the group had not processed
/// (nor seeked past) yet, and that no earlier observation had already run
/// past: repeating a premature commit is not another one.
pub(super) struct Claim {
    /// Index into the partition's commits.
    pub commit: usize,
    /// The first records it ran past, and how many in all.
    pub records: Vec<Offset>,
    pub total: u64,
}

pub(super) fn walk(offsets: &[Offset], part: Option<&GroupPart>, mut visit: impl FnMut(Visit)) -> Vec<Claim> {
    let Some(part) = part else {
        for &o in offsets {
            visit(Visit { o, processed: false, sought: false });
        }
        return Vec::new();
    };
    let commits = &part.commits;
    let mut by_offset: Vec<usize> = (0..commits.len()).collect();
    by_offset.sort_by_key(|&i| commits[i].o);
    // earliest[j]: of the commits by_offset[j..], the first in the ledger.
    let mut earliest = by_offset.clone();
    for j in (0..earliest.len().saturating_sub(1)).rev() {
        if commits[earliest[j + 1]].pos < commits[earliest[j]].pos {
            earliest[j] = earliest[j + 1];
        }
    }
    let mut claims: Vec<Option<Claim>> = commits.iter().map(|_| None).collect();
    let mut cover = Cover::new(&part.seeks);
    let mut next = 0;
    for &o in offsets {
        let first = part.done.get(o).and_then(|done| done.first).map(|first| first.pos);
        let seek = cover.at(o);
        visit(Visit { o, processed: first.is_some(), sought: seek.is_some() });
        // The first observation of an offset above `o` is the first that
        // could run past it; it did if `o` was not done by then.
        while by_offset.get(next).is_some_and(|&i| commits[i].o <= o) {
            next += 1;
        }
        let Some(&c) = earliest.get(next) else { continue };
        if Pos::rank(Some(commits[c].pos)) < Pos::rank(first).min(Pos::rank(seek)) {
            let claim = claims[c].get_or_insert_with(|| Claim { commit: c, records: Vec::new(), total: 0 });
            if claim.records.len() < RECORDS {
                claim.records.push(o);
            }
            claim.total += 1;
        }
    }
    claims.into_iter().flatten().collect()
}

/// The earliest seek over each offset, for offsets asked in ascending order.
struct Cover<'a> {
    seeks: Vec<&'a SeekRange>,
    next: usize,
    /// Seeks begun at or below the last offset asked, earliest first; those
    /// that ended are dropped when they come to the top.
    open: BinaryHeap<Reverse<(Pos, Offset)>>,
}

impl<'a> Cover<'a> {
    fn new(seeks: &'a [SeekRange]) -> Self {
        let mut seeks: Vec<&SeekRange> = seeks.iter().filter(|s| s.from < s.to).collect();
        seeks.sort_by_key(|s| s.from);
        Cover { seeks, next: 0, open: BinaryHeap::new() }
    }

    fn at(&mut self, o: Offset) -> Option<Pos> {
        while let Some(seek) = self.seeks.get(self.next).filter(|s| s.from <= o) {
            self.open.push(Reverse((seek.pos, seek.to)));
            self.next += 1;
        }
        while self.open.peek().is_some_and(|Reverse((_, to))| *to <= o) {
            self.open.pop();
        }
        self.open.peek().map(|Reverse((pos, _))| *pos)
    }
}
