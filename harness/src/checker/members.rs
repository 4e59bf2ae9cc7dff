//! Consumers and their assignments. Judges, per assignment, nonmonotonic
//! steps at once and forward jumps as candidates (whether a jump skipped a
//! record needs the audit, which comes last).

use super::groups::GroupId;
use super::intern::Sym;
use super::slots::{Cell, Slots};
use crate::ledger::{Offset, Partition};

/// A member's ownership of one partition, from Assigned (or a seek) until
/// Revoked, Lost or Exited.
#[derive(Debug, Default)]
struct Run {
    owned: bool,
    last: Option<Offset>,
    /// Highest offset processed; a forward jump is measured from here, so
    /// going back and then forward again over processed records is no jump.
    max: Offset,
    /// A seek since the last record: the next one starts afresh.
    seeked: bool,
}

impl Cell for Run {
    fn is_empty(&self) -> bool {
        !self.owned
    }
}

/// How one processed offset follows the previous one of the same assignment.
pub(super) enum Step {
    /// First of the assignment, right after a seek, or the next offset.
    InOrder,
    /// Past `max + 1`: the offsets in between were jumped over.
    Jump { max: Offset },
    /// At or below the previous offset, without a seek.
    Back { last: Offset },
}

impl Run {
    fn step(&mut self, o: Offset) -> Step {
        let step = match self.last {
            Some(last) if !self.seeked => {
                if o <= last {
                    Step::Back { last }
                } else if o > self.max.saturating_add(1) {
                    Step::Jump { max: self.max }
                } else {
                    Step::InOrder
                }
            }
            _ => {
                self.max = o;
                Step::InOrder
            }
        };
        *self = Run { owned: true, last: Some(o), max: self.max.max(o), seeked: false };
        step
    }
}

#[derive(Debug)]
struct Member {
    group: GroupId,
    runs: Slots<Run>,
}

/// Members by worker name.
#[derive(Debug, Default)]
pub(super) struct Members {
    list: Vec<Option<Member>>,
}

impl Members {
    pub fn group(&self, member: Sym) -> Option<GroupId> {
        self.list.get(member.index())?.as_ref().map(|m| m.group)
    }

    /// (Re)starts a member in `group`: a new process owns nothing yet.
    pub fn start(&mut self, member: Sym, group: GroupId) {
        let i = member.index();
        if self.list.len() <= i {
            self.list.resize_with(i + 1, || None);
        }
        self.list[i] = Some(Member { group, runs: Slots::default() });
    }

    pub fn exited(&mut self, member: Sym) {
        if let Some(m) = self.get(member) {
            m.runs = Slots::default();
        }
    }

    pub fn assigned(&mut self, member: Sym, parts: &[Partition]) {
        if let Some(m) = self.get(member) {
            for &p in parts {
                *m.runs.get_mut(i64::from(p)) = Run { owned: true, ..Run::default() };
            }
        }
    }

    pub fn revoked(&mut self, member: Sym, parts: &[Partition]) {
        if let Some(m) = self.get(member) {
            for &p in parts {
                m.runs.clear(i64::from(p));
            }
        }
    }

    pub fn seek(&mut self, member: Sym, p: Partition) {
        if let Some(m) = self.get(member) {
            let run = m.runs.get_mut(i64::from(p));
            run.owned = true;
            run.seeked = true;
        }
    }

    /// `None`: the member does not hold `p` (no assignment, or revoked).
    pub fn processed(&mut self, member: Sym, p: Partition, o: Offset) -> Option<Step> {
        let m = self.get(member)?;
        let run = m.runs.get_mut(i64::from(p));
        run.owned.then(|| run.step(o))
    }

    fn get(&mut self, member: Sym) -> Option<&mut Member> {
        self.list.get_mut(member.index())?.as_mut()
    }
}
