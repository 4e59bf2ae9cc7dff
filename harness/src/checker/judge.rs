//! The judgments that need the whole ledger (the audit comes last), made
//! across groups: lost writes, duplicate copies, skips and seeks.

use super::groups::Groups;
use super::intern::Interner;
use super::logs::{Held, Logs, Present};
use super::marks::{within, ExtraCopy, Jump, SeekMark};
use super::pos::Timeline;
use super::tally::{Tally, RECORDS};
use super::writes::Writes;
use super::{Class, Finding, RecordRef};
use crate::ledger::{Offset, Partition};

/// What the end-of-run judgments read, and the tally they add to.
pub(super) struct Judge<'a> {
    pub tally: &'a mut Tally,
    pub timeline: &'a Timeline,
    pub names: &'a Interner,
    pub groups: &'a Groups,
    pub logs: &'a Logs,
    pub present: &'a Present,
    pub audited: bool,
}

impl Judge<'_> {
    pub fn record(&self, p: Partition, o: Offset) -> RecordRef {
        let id = self.logs.get(p).and_then(|log| log.audit.get(o)).map(Held::id);
        RecordRef { p, o, id }
    }

    pub fn records(&self, p: Partition, offsets: &[Offset]) -> Vec<RecordRef> {
        offsets.iter().take(RECORDS).map(|&o| self.record(p, o)).collect()
    }

    pub fn lost_writes(&mut self, writes: &Writes) {
        for lost in writes.lost() {
            let t = self.timeline.t(lost.acked);
            self.tally.add(Class::LostWrite, 1, lost.acked, || Finding {
                class: Class::LostWrite,
                t,
                group: None,
                src: None,
                records: vec![RecordRef { p: lost.p, o: lost.o, id: Some(lost.id) }],
                detail: format!(
                    "record {}/{} was acked at p{}@{} but the log does not hold it",
                    lost.id.producer, lost.id.seq, lost.p, lost.o
                ),
            });
        }
    }

    /// Describes an extra copy of a record, with where the log holds it.
    pub fn duplicate(&self, copy: &ExtraCopy) -> Finding {
        let records: Vec<RecordRef> = self
            .logs
            .copies(copy.id, RECORDS)
            .into_iter()
            .map(|(_, p, o)| RecordRef { p, o, id: Some(copy.id) })
            .collect();
        let at: Vec<String> = records.iter().map(|r| format!("p{}@{}", r.p, r.o)).collect();
        Finding {
            class: Class::DuplicateWrite,
            t: copy.t,
            group: None,
            src: None,
            detail: format!(
                "record {}/{} is in the log more than once: {}",
                copy.id.producer,
                copy.id.seq,
                at.join(", ")
            ),
            records,
        }
    }

    /// A forward jump is a skip if the log holds a record it jumped over.
    pub fn jump(&mut self, jump: &Jump) {
        let offsets = self.present.get(&jump.p).map_or(&[][..], Vec::as_slice);
        let over = within(offsets, jump.from.saturating_add(1), jump.to);
        if over.is_empty() {
            return;
        }
        let records = self.records(jump.p, over);
        let src = self.names.name(jump.member);
        let group = self.groups.name(jump.group);
        self.tally.add(Class::Skip, 1, jump.pos, || Finding {
            class: Class::Skip,
            t: jump.t,
            group: Some(group.to_owned()),
            src: Some(src.to_owned()),
            records,
            detail: format!(
                "{src} jumped from p{p}@{} to p{p}@{} within one assignment, over {} records",
                jump.from,
                jump.to,
                over.len(),
                p = jump.p
            ),
        });
    }

    pub fn seek(&self, mark: &SeekMark) -> Finding {
        let offsets = self.present.get(&mark.p).map_or(&[][..], Vec::as_slice);
        let over = within(offsets, mark.from, mark.to);
        let src = self.names.name(mark.member);
        Finding {
            class: Class::Skip,
            t: mark.t,
            group: Some(self.groups.name(mark.group).to_owned()),
            src: Some(src.to_owned()),
            records: self.records(mark.p, over),
            detail: format!(
                "{src} seeked p{} from {} to {}, skipping {} records on purpose",
                mark.p,
                mark.from,
                mark.to,
                over.len()
            ),
        }
    }
}
