//! The log as the audit read it back, per partition; or, without an audit,
//! as far as acks and processing show it.

use std::collections::BTreeMap;

use super::pos::Pos;
use super::slots::{Cell, Slots};
use crate::ledger::{Offset, Partition, RecordId};

/// One record of the audit, 16 bytes.
#[derive(Debug, Default)]
pub(super) struct Held {
    pub pos: Option<Pos>,
    producer: u32,
    seq: u64,
}

const _: () = assert!(std::mem::size_of::<Held>() == 16);

impl Held {
    pub fn id(&self) -> RecordId {
        RecordId { producer: self.producer, seq: self.seq }
    }
}

impl Cell for Held {
    fn is_empty(&self) -> bool {
        self.pos.is_none()
    }
}

#[derive(Debug, Default)]
pub(super) struct PartLog {
    pub audit: Slots<Held>,
    pub hwm: Option<Offset>,
}

impl Cell for PartLog {
    fn is_empty(&self) -> bool {
        self.audit.is_empty() && self.hwm.is_none()
    }
}

#[derive(Debug, Default)]
pub(super) struct Logs {
    parts: Slots<PartLog>,
    /// The runner's `audit` phase mark, and the audit's end mark.
    marked: bool,
    ended: bool,
}

/// The offsets a partition's log holds, ascending.
pub(super) type Present = BTreeMap<Partition, Vec<Offset>>;

impl Logs {
    /// Notes one audit record; false if (p, o) was already audited (a
    /// repeated line is not a second copy).
    pub fn audit(&mut self, pos: Pos, p: Partition, o: Offset, id: RecordId) -> bool {
        let held = self.part(p).audit.get_mut(o);
        if held.pos.is_some() {
            return false;
        }
        *held = Held { pos: Some(pos), producer: id.producer, seq: id.seq };
        true
    }

    pub fn hwm(&mut self, p: Partition, o: Offset) {
        self.part(p).hwm = Some(o);
    }

    /// The runner says the audit began.
    pub fn mark_begin(&mut self) {
        self.marked = true;
    }

    pub fn mark_end(&mut self) {
        self.ended = true;
    }

    /// Whether the audit read left anything: a record or a watermark.
    pub fn began(&self) -> bool {
        self.parts.iter().next().is_some()
    }

    /// The runner marked the audit's beginning but the ledger lacks its end.
    /// Without the marks (a ledger written by hand) only what the rest of
    /// the ledger names tells whether the read is whole.
    pub fn unfinished(&self) -> bool {
        self.marked && !self.ended
    }

    pub fn has_any_hwm(&self) -> bool {
        self.parts.iter().any(|(_, log)| log.hwm.is_some())
    }

    pub fn has_hwm(&self, p: Partition) -> bool {
        self.get(p).is_some_and(|log| log.hwm.is_some())
    }

    /// The partitions the audit read records or a watermark of.
    pub fn partitions(&self) -> impl Iterator<Item = Partition> + '_ {
        self.parts.iter().filter_map(|(p, _)| Partition::try_from(p).ok())
    }

    pub fn get(&self, p: Partition) -> Option<&PartLog> {
        self.parts.get(i64::from(p))
    }

    /// The offsets each partition holds, as the audit read them.
    pub fn audited(&self) -> Present {
        let parts = self.parts.iter().filter_map(|(p, log)| Some((Partition::try_from(p).ok()?, log)));
        parts.map(|(p, log)| (p, log.audit.iter().map(|(o, _)| o).collect())).collect()
    }

    /// Where the audit found `id`, in the order it found them (at most `n`).
    pub fn copies(&self, id: RecordId, n: usize) -> Vec<(Pos, Partition, Offset)> {
        let mut found: Vec<(Pos, Partition, Offset)> = self
            .parts
            .iter()
            .filter_map(|(p, log)| Some((Partition::try_from(p).ok()?, log)))
            .flat_map(|(p, log)| log.audit.iter().map(move |(o, held)| (p, o, held)))
            .filter(|(_, _, held)| held.id() == id)
            .filter_map(|(p, o, held)| Some((held.pos?, p, o)))
            .collect();
        found.sort_unstable();
        found.truncate(n);
        found
    }

    fn part(&mut self, p: Partition) -> &mut PartLog {
        self.parts.get_mut(i64::from(p))
    }
}

/// Without an audit: every offset from the lowest to the highest that acks
/// and processing named — unless that span is more than twice as wide as the
/// offsets named (a topic that had records before the run, or nonsense),
/// where only the offsets named count.
pub(super) fn guessed(seen: impl Iterator<Item = (Partition, Offset)>) -> Present {
    let mut present = Present::new();
    for (p, o) in seen {
        present.entry(p).or_default().push(o);
    }
    for offsets in present.values_mut() {
        offsets.sort_unstable();
        offsets.dedup();
        if let (Some(&lo), Some(&hi)) = (offsets.first(), offsets.last()) {
            let width = i128::from(hi) - i128::from(lo) + 1;
            if width <= 2 * offsets.len() as i128 + 16 {
                *offsets = (lo..=hi).collect();
            }
        }
    }
    present
}
