//! Consumer groups: what each processed, committed and seeked past, per
//! partition, kept dense by offset for the judgments made at the end.

use std::collections::HashSet;

use super::intern::{Interner, Sym};
use super::pos::Pos;
use super::slots::{Cell, Slots};
use crate::ledger::{Offset, Partition, RecordId};

pub(super) type GroupId = Sym;

/// The group's processing of one offset, 24 bytes. It holds the id of the
/// first processing; the rare later ones with another id go to `odd`.
#[derive(Debug, Default)]
pub(super) struct Done {
    pub first: Option<First>,
    /// Processings with the first id.
    pub times: u32,
    producer: u32,
    seq: u64,
}

/// When an offset was first processed, and by whom.
#[derive(Debug, Clone, Copy)]
pub(super) struct First {
    pub pos: Pos,
    pub member: Sym,
}

const _: () = assert!(std::mem::size_of::<Done>() == 24);

impl Done {
    pub fn id(&self) -> RecordId {
        RecordId { producer: self.producer, seq: self.seq }
    }
}

impl Cell for Done {
    fn is_empty(&self) -> bool {
        self.first.is_none()
    }
}

/// A processing whose id differs from the first one at its offset.
#[derive(Debug)]
pub(super) struct Odd {
    pub pos: Pos,
    pub member: Sym,
    pub o: Offset,
    pub id: RecordId,
}

/// Processings of one offset with one id: `times` of them, the first by
/// `member` at `pos`.
pub(super) struct Processing {
    pub pos: Pos,
    pub member: Sym,
    pub o: Offset,
    pub id: RecordId,
    pub times: u64,
}

/// A commit observation: a member's successful commit, or the broker's
/// final committed offset read by the audit.
#[derive(Debug)]
pub(super) struct Commit {
    pub o: Offset,
    pub pos: Pos,
    pub t: u64,
    pub src: Sym,
    pub by_broker: bool,
}

/// A seek from `from` to `to`: the offsets in between are skipped on purpose.
#[derive(Debug)]
pub(super) struct SeekRange {
    pub from: Offset,
    pub to: Offset,
    pub pos: Pos,
}

#[derive(Debug, Default)]
pub(super) struct GroupPart {
    pub done: Slots<Done>,
    pub odd: Vec<Odd>,
    pub commits: Vec<Commit>,
    last_commit: Option<Offset>,
    pub seeks: Vec<SeekRange>,
    pub snapshot: Option<Offset>,
}

impl Cell for GroupPart {
    fn is_empty(&self) -> bool {
        self.done.is_empty() && self.commits.is_empty() && self.seeks.is_empty() && self.snapshot.is_none()
    }
}

impl GroupPart {
    /// Notes one processing; true if the group had processed `o` before.
    pub fn processed(&mut self, pos: Pos, member: Sym, o: Offset, id: RecordId) -> bool {
        let done = self.done.get_mut(o);
        if done.first.is_none() {
            *done = Done { first: Some(First { pos, member }), times: 1, producer: id.producer, seq: id.seq };
            return false;
        }
        if done.id() == id {
            done.times = done.times.saturating_add(1);
        } else {
            self.odd.push(Odd { pos, member, o, id });
        }
        true
    }

    /// Every processing, in offset order, then the odd ones in ledger order.
    pub fn processings(&self) -> impl Iterator<Item = Processing> + '_ {
        let firsts = self.done.iter().filter_map(|(o, done)| {
            let First { pos, member } = done.first?;
            Some(Processing { pos, member, o, id: done.id(), times: u64::from(done.times) })
        });
        let odd =
            self.odd.iter().map(|odd| Processing { pos: odd.pos, member: odd.member, o: odd.o, id: odd.id, times: 1 });
        firsts.chain(odd)
    }

    /// A member reported a commit here but the ledger lacks the broker's
    /// final offset, which the audit reads for every partition that has one.
    pub fn lacks_final_offset(&self) -> bool {
        self.commits.iter().any(|c| !c.by_broker) && !self.commits.iter().any(|c| c.by_broker)
    }

    /// Notes a commit observation; returns the previous one if this one is
    /// lower (a regression).
    pub fn committed(&mut self, commit: Commit) -> Option<Offset> {
        let regressed = self.last_commit.filter(|&last| commit.o < last);
        self.last_commit = Some(commit.o);
        self.commits.push(commit);
        regressed
    }
}

/// The latest assignment, revoke or loss in a group.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rebalance {
    pub generation: i32,
    pub pos: Pos,
}

#[derive(Debug, Default)]
pub(super) struct Group {
    pub name: String,
    pub members: Vec<Sym>,
    pub parts: Slots<GroupPart>,
    pub bounded: bool,
    pub drained: bool,
    pub processed: u64,
    pub unique: u64,
    pub redelivered: u64,
    pub rebalance: Option<Rebalance>,
}

#[derive(Debug, Default)]
pub(super) struct Groups {
    names: Interner,
    list: Vec<Group>,
    joined: HashSet<(GroupId, Sym)>,
}

impl Groups {
    pub fn id(&mut self, name: &str) -> GroupId {
        let id = self.names.intern(name);
        while self.list.len() <= id.index() {
            self.list.push(Group { name: name.to_owned(), drained: true, ..Group::default() });
        }
        id
    }

    /// Lists `member` in the group, once.
    pub fn join(&mut self, id: GroupId, member: Sym) {
        if self.joined.insert((id, member)) {
            self.get(id).members.push(member);
        }
    }

    pub fn get(&mut self, id: GroupId) -> &mut Group {
        // `id` resized the list to hold every interned group.
        &mut self.list[id.index()]
    }

    pub fn name(&self, id: GroupId) -> &str {
        self.list.get(id.index()).map_or("", |group| group.name.as_str())
    }

    /// The offsets any group processed.
    pub fn processed(&self) -> impl Iterator<Item = (Partition, Offset)> + '_ {
        let parts = self.list.iter().flat_map(|group| group.parts.iter());
        let parts = parts.filter_map(|(p, part)| Some((Partition::try_from(p).ok()?, part)));
        parts.flat_map(|(p, part)| part.done.iter().map(move |(o, _)| (p, o)))
    }

    /// In order of first mention.
    pub fn iter(&self) -> impl Iterator<Item = &Group> {
        self.list.iter()
    }
}
