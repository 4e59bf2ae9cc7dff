//! Things noticed while reading that can only be judged or described once
//! the log is known (the audit comes last): forward jumps, seeks, and extra
//! copies of records.

use super::groups::GroupId;
use super::intern::Sym;
use super::pos::Pos;
use crate::ledger::{Offset, Partition, RecordId};

/// A member processed `to` right after `from` (its highest so far) within one
/// assignment. A skip if the log holds a record in between.
#[derive(Debug)]
pub(super) struct Jump {
    pub pos: Pos,
    pub t: u64,
    pub member: Sym,
    pub group: GroupId,
    pub p: Partition,
    pub from: Offset,
    pub to: Offset,
}

/// One of the first seeks, to describe in the verdict.
#[derive(Debug)]
pub(super) struct SeekMark {
    pub t: u64,
    pub member: Sym,
    pub group: GroupId,
    pub p: Partition,
    pub from: Offset,
    pub to: Offset,
}

/// One of the first extra copies of a record in the log; where the other
/// copies are is looked up at the end.
#[derive(Debug)]
pub(super) struct ExtraCopy {
    pub pos: Pos,
    pub t: u64,
    pub id: RecordId,
}

/// The offsets of `offsets` (ascending) in `from..to`.
pub(super) fn within(offsets: &[Offset], from: Offset, to: Offset) -> &[Offset] {
    let lo = offsets.partition_point(|&o| o < from);
    let hi = offsets.partition_point(|&o| o < to).max(lo);
    offsets.get(lo..hi).unwrap_or_default()
}
