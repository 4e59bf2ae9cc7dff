//! The end of a ledger: the judgments that need all of it, and the verdict.

use super::final_read::final_read;
use super::judge::Judge;
use super::logs::guessed;
use super::{Checker, Class, GroupSummary, Verdict};

impl Checker {
    /// Judges what needs the whole ledger and returns the verdict.
    pub fn finish(self) -> Verdict {
        let Checker {
            timeline,
            names,
            groups,
            writes,
            logs,
            causes,
            recovery,
            mut tally,
            mut totals,
            drain_timeouts,
            clients,
            jumps,
            seeks,
            copies,
            generations,
            plot,
            members: _,
            entries,
        } = self;
        let final_read = final_read(&logs, &writes, &groups);
        let audited = final_read.audited;
        let present = if audited { logs.audited() } else { guessed(writes.ack_offsets().chain(groups.processed())) };
        let mut judge = Judge {
            tally: &mut tally,
            timeline: &timeline,
            names: &names,
            groups: &groups,
            logs: &logs,
            present: &present,
            audited,
        };
        if audited {
            judge.lost_writes(&writes);
        }
        let duplicates = copies.into_vec().iter().map(|copy| (copy.pos, judge.duplicate(copy))).collect::<Vec<_>>();
        judge.tally.describe(Class::DuplicateWrite, duplicates);
        let mut skipped_by_seek = 0;
        for group in groups.iter() {
            skipped_by_seek += judge.group(group);
        }
        for jump in &jumps {
            judge.jump(jump);
        }
        let seek_findings = seeks.into_vec().iter().map(|mark| judge.seek(mark)).collect();

        let timeline = plot.finish(&names, &groups);
        let faults = recovery.finish(|g| groups.name(g).to_owned());
        totals.entries = entries;
        totals.processed_unique = groups.iter().map(|g| g.unique).sum();
        totals.rebalances = generations.len() as u64;
        let groups = groups
            .iter()
            .map(|g| GroupSummary {
                group: g.name.clone(),
                members: g.members.iter().map(|&m| names.name(m).to_owned()).collect(),
                processed: g.processed,
                redelivered: g.redelivered,
                bounded: g.bounded,
                drained: g.drained,
            })
            .collect();
        let (counts, findings) = tally.into_maps();
        Verdict {
            counts,
            findings,
            redelivery_causes: causes.rows(),
            skipped_by_seek,
            seek_findings,
            totals,
            groups,
            drain_timeouts,
            clients,
            audited,
            audit_cut: final_read.cut,
            missing_offsets: final_read.missing_offsets,
            audit_unfinished: final_read.unfinished,
            faults,
            timeline,
        }
    }
}
