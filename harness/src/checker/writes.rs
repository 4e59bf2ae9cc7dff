//! The producer side: what was acked, and how often the audit found it.
//! Judges lost-write and counts duplicate-write.

use super::pos::Pos;
use super::slots::{Cell, Slots};
use crate::ledger::{Offset, Partition, RecordId};

/// The first ack of a record: when, and where the broker said it put it.
#[derive(Debug, Default)]
struct Ack {
    pos: Option<Pos>,
    p: Partition,
    o: Offset,
}

const _: () = assert!(std::mem::size_of::<Ack>() == 16);

impl Cell for Ack {
    fn is_empty(&self) -> bool {
        self.pos.is_none()
    }
}

/// How many offsets of the log hold a record (saturating). Kept apart from
/// the acks, one byte a record: the audit reads the log in offset order, so
/// it visits records in random order, and this is small enough to stay in
/// the CPU cache when the acks are not.
#[derive(Debug, Default)]
struct Copies(u8);

impl Cell for Copies {
    fn is_empty(&self) -> bool {
        self.0 == 0
    }
}

#[derive(Debug, Default)]
struct Producer {
    /// By sequence number.
    acks: Slots<Ack>,
    copies: Slots<Copies>,
}

impl Cell for Producer {
    fn is_empty(&self) -> bool {
        self.acks.is_empty() && self.copies.is_empty()
    }
}

/// A record acked but absent from the log.
pub(super) struct Lost {
    pub id: RecordId,
    pub acked: Pos,
    pub p: Partition,
    pub o: Offset,
}

#[derive(Debug, Default)]
pub(super) struct Writes {
    producers: Slots<Producer>,
}

impl Writes {
    /// Makes room for the record, so the per-producer vectors grow in the
    /// order records are sent in (acks come back, and the audit reads them,
    /// in other orders).
    pub fn sent(&mut self, id: RecordId) {
        let producer = self.producer(id);
        producer.acks.get_mut(key(id));
        producer.copies.get_mut(key(id));
    }

    pub fn acked(&mut self, pos: Pos, id: RecordId, p: Partition, o: Offset) {
        let ack = self.producer(id).acks.get_mut(key(id));
        if ack.pos.is_none() {
            *ack = Ack { pos: Some(pos), p, o };
        }
    }

    /// Notes a copy of `id` in the log; true if it is a second or later one.
    pub fn audited(&mut self, id: RecordId) -> bool {
        let copies = self.producer(id).copies.get_mut(key(id));
        copies.0 = copies.0.saturating_add(1);
        copies.0 > 1
    }

    /// Acked records of which the log holds no copy.
    pub fn lost(&self) -> impl Iterator<Item = Lost> + '_ {
        self.producers.iter().flat_map(|(producer, records)| {
            records.acks.iter().filter_map(move |(seq, ack)| {
                if records.copies.get(seq).is_some() {
                    return None;
                }
                let id = RecordId { producer: u32::try_from(producer).ok()?, seq: seq as u64 };
                Some(Lost { id, acked: ack.pos?, p: ack.p, o: ack.o })
            })
        })
    }

    /// Where acks said records went.
    pub fn ack_offsets(&self) -> impl Iterator<Item = (Partition, Offset)> + '_ {
        let acks = self.producers.iter().flat_map(|(_, records)| records.acks.iter());
        acks.map(|(_, ack)| (ack.p, ack.o))
    }

    fn producer(&mut self, id: RecordId) -> &mut Producer {
        self.producers.get_mut(i64::from(id.producer))
    }
}

/// A seq past i64::MAX becomes a negative key (and back, in `lost`): still
/// unique, kept sparse.
fn key(id: RecordId) -> i64 {
    id.seq as i64
}
