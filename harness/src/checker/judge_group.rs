//! The judgments that need the whole ledger, per group and partition:
//! lost-delivery, premature-commit, phantom and overrun.

use std::collections::BTreeSet;

use super::groups::{Group, GroupPart};
use super::judge::Judge;
use super::logs::{Held, PartLog};
use super::sweep::{walk, Claim};
use super::{Class, Finding, RecordRef};
use crate::ledger::{Offset, Partition};

impl Judge<'_> {
    /// Judges one group, partition by partition; returns the records it
    /// skipped by seeking.
    pub fn group(&mut self, group: &Group) -> u64 {
        let mut parts: BTreeSet<Partition> = self.present.keys().copied().collect();
        parts.extend(group.parts.iter().filter_map(|(p, _)| Partition::try_from(p).ok()));
        parts.into_iter().map(|p| self.partition(group, p)).sum()
    }

    fn partition(&mut self, group: &Group, p: Partition) -> u64 {
        let part = group.parts.get(i64::from(p));
        let log = self.logs.get(p);
        let offsets = self.present.get(&p).map_or(&[][..], Vec::as_slice);
        // Lost-delivery counts below the final watermark, and for a bounded
        // group below its snapshot.
        let snapshot = part.and_then(|part| part.snapshot).filter(|_| group.bounded);
        let limit = [log.and_then(|log| log.hwm), snapshot].into_iter().flatten().min();
        let mut skipped = 0;
        let claims = walk(offsets, part, |visit| {
            if visit.processed {
                return;
            }
            if visit.sought {
                skipped += 1;
            } else if self.audited && limit.is_none_or(|limit| visit.o < limit) {
                self.lost_delivery(group, log, p, visit.o, snapshot);
            }
        });
        if let Some(part) = part {
            for claim in &claims {
                self.premature(group, part, p, claim);
            }
            if self.audited {
                self.phantoms(group, part, log, p);
            }
            if let Some(snapshot) = snapshot {
                self.overruns(group, part, p, snapshot);
            }
        }
        skipped
    }

    fn lost_delivery(
        &mut self,
        group: &Group,
        log: Option<&PartLog>,
        p: Partition,
        o: Offset,
        snapshot: Option<Offset>,
    ) {
        let Some(held) = log.and_then(|log| log.audit.get(o)) else { return };
        let Some(pos) = held.pos else { return };
        let record = RecordRef { p, o, id: Some(held.id()) };
        let t = self.timeline.t(pos);
        self.tally.add(Class::LostDelivery, 1, pos, || {
            let bound = match snapshot {
                Some(s) => format!("below the group's snapshot {s}"),
                None => "below the final watermark".to_owned(),
            };
            Finding {
                class: Class::LostDelivery,
                t,
                group: Some(group.name.clone()),
                src: None,
                records: vec![record],
                detail: format!("group {} never processed {record}, which the log holds {bound}", group.name),
            }
        });
    }

    fn premature(&mut self, group: &Group, part: &GroupPart, p: Partition, claim: &Claim) {
        let Some(commit) = part.commits.get(claim.commit) else { return };
        let records = self.records(p, &claim.records);
        let src = self.names.name(commit.src);
        self.tally.add(Class::PrematureCommit, 1, commit.pos, || {
            let who = if commit.by_broker {
                format!("the broker ended with offset {} on p{p}", commit.o)
            } else {
                format!("{src} committed offset {} on p{p}", commit.o)
            };
            let first = records.first().map(ToString::to_string).unwrap_or_default();
            let more = if claim.total > 1 { format!(" and {} more", claim.total - 1) } else { String::new() };
            // Only commits a worker reported are seen: the one that first ran
            // past a record may have been made by a member killed before it
            // could say so.
            let detail = format!(
                "{who}: the first commit seen past {first}{more}, which group {} had not processed",
                group.name
            );
            Finding {
                class: Class::PrematureCommit,
                t: commit.t,
                group: Some(group.name.clone()),
                src: Some(src.to_owned()),
                detail,
                records,
            }
        });
    }

    /// Processed records the log does not hold, or holds with another id.
    fn phantoms(&mut self, group: &Group, part: &GroupPart, log: Option<&PartLog>, p: Partition) {
        for done in part.processings() {
            let holds = log.and_then(|log| log.audit.get(done.o)).map(Held::id);
            if holds == Some(done.id) {
                continue;
            }
            let t = self.timeline.t(done.pos);
            let src = self.names.name(done.member);
            self.tally.add(Class::Phantom, done.times, done.pos, || {
                let record = RecordRef { p, o: done.o, id: Some(done.id) };
                let there = match holds {
                    Some(other) => format!("holds {}/{} there", other.producer, other.seq),
                    None => "holds nothing there".to_owned(),
                };
                Finding {
                    class: Class::Phantom,
                    t,
                    group: Some(group.name.clone()),
                    src: Some(src.to_owned()),
                    records: vec![record],
                    detail: format!("{src} processed {record} but the log {there}"),
                }
            });
        }
    }

    /// Records a bounded group processed at or past its snapshot.
    fn overruns(&mut self, group: &Group, part: &GroupPart, p: Partition, snapshot: Offset) {
        for done in part.processings().filter(|done| done.o >= snapshot) {
            let t = self.timeline.t(done.pos);
            let src = self.names.name(done.member);
            self.tally.add(Class::Overrun, done.times, done.pos, || {
                let record = RecordRef { p, o: done.o, id: Some(done.id) };
                Finding {
                    class: Class::Overrun,
                    t,
                    group: Some(group.name.clone()),
                    src: Some(src.to_owned()),
                    records: vec![record],
                    detail: format!("{src} processed {record}, at or past group {}'s snapshot {snapshot}", group.name),
                }
            });
        }
    }
}
