//! How much of the run's final read the ledger holds. The audit writes every
//! record of the log, then the high watermark of every partition, then each
//! group's committed offsets, then an end mark; a run killed mid-way, or a
//! ledger cut short, ends somewhere in that sequence. The end mark is missed
//! only if the runner's phase mark says the audit began; records and
//! watermarks are also judged from what the rest of the ledger names (a
//! ledger written by hand has no marks).

use std::collections::{BTreeMap, BTreeSet};

use super::groups::Groups;
use super::logs::Logs;
use super::writes::Writes;
use crate::ledger::Partition;

pub(super) struct FinalRead {
    /// Records and a watermark for every partition named: the log is known.
    pub audited: bool,
    /// The audit began, but these named partitions have no watermark.
    pub cut: Vec<Partition>,
    /// Per group, partitions a member committed on without the broker's
    /// final offset; only when `audited` (else none of them is there).
    pub missing_offsets: BTreeMap<String, Vec<Partition>>,
    /// The audit began and has no end mark: some final offsets may be
    /// missing, even of groups whose members reported no commit.
    pub unfinished: bool,
}

pub(super) fn final_read(logs: &Logs, writes: &Writes, groups: &Groups) -> FinalRead {
    // Every partition something happened on: acks, the audit, and what
    // groups processed, committed, seeked or were bounded on. A partition
    // named nowhere weighs in no judgment, so its watermark is not needed.
    let mut named: BTreeSet<Partition> = logs.partitions().collect();
    named.extend(writes.ack_offsets().map(|(p, _)| p));
    let parts = groups.iter().flat_map(|group| group.parts.iter());
    named.extend(parts.filter_map(|(p, _)| Partition::try_from(p).ok()));
    let began = logs.began();
    let cut: Vec<Partition> = if began { named.into_iter().filter(|&p| !logs.has_hwm(p)).collect() } else { vec![] };
    let audited = began && cut.is_empty() && logs.has_any_hwm();
    let mut missing_offsets = BTreeMap::new();
    for group in groups.iter().filter(|_| audited) {
        let lacking: Vec<Partition> = group
            .parts
            .iter()
            .filter(|(_, part)| part.lacks_final_offset())
            .filter_map(|(p, _)| Partition::try_from(p).ok())
            .collect();
        if !lacking.is_empty() {
            missing_offsets.insert(group.name.clone(), lacking);
        }
    }
    FinalRead { audited, cut, missing_offsets, unfinished: logs.unfinished() }
}
