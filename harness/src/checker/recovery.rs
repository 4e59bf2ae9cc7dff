//! How long each fault took to show in each group, and how long the group
//! took to get over it, measured from the ledger alone.
//!
//! - Time to detect: from the fault's start to the group's first sign of it:
//!   a member's session lost, a revoke, a new assignment or a client error.
//! - Time to recover: from the fault's end to the moment every partition
//!   the group held is held again, if the fault left some unheld.
//!
//! A sign or a gap belongs to the latest fault started before it (the
//! last one read: the ledger is in time order), as a redelivery does
//! (causes.rs). Partitions given up by a member that
//! finished by itself (bounded, idle exit), and everything after the run's
//! `stop` phase, are no gap.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::groups::GroupId;
use super::intern::Sym;
use crate::ledger::Partition;

/// One fault's timings, per group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultTiming {
    pub id: u32,
    pub kind: String,
    pub target: String,
    /// Fault start and end, ms since the run began (no end: never healed).
    pub start_ms: u64,
    pub end_ms: Option<u64>,
    pub groups: Vec<GroupTiming>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupTiming {
    pub group: String,
    /// Fault start → the group's first sign of it (None: it showed none).
    pub detect_ms: Option<u64>,
    /// Whether the fault left some of the group's partitions unheld.
    pub disrupted: bool,
    /// Fault end → every partition held again; 0 when that happened before
    /// the fault ended. None: not disrupted, or never whole again.
    pub recover_ms: Option<u64>,
}

#[derive(Debug, Default)]
struct Open {
    id: u32,
    kind: String,
    target: String,
    start: u64,
    end: Option<u64>,
    /// Per group: first sign, and whether (and when) it was whole again.
    detect: HashMap<GroupId, u64>,
    disrupted: HashSet<GroupId>,
    whole_at: HashMap<GroupId, u64>,
}

#[derive(Debug, Default)]
struct Group {
    /// Holders per partition; a partition ever held is in the map.
    holders: BTreeMap<Partition, u32>,
}

impl Group {
    fn whole(&self) -> bool {
        self.holders.values().all(|&n| n > 0)
    }
}

#[derive(Debug, Default)]
pub(super) struct Recovery {
    faults: Vec<Open>,
    groups: HashMap<GroupId, Group>,
    held: HashMap<Sym, (GroupId, BTreeSet<Partition>)>,
    finished: HashSet<Sym>,
    /// When each group's first member started.
    started: HashMap<GroupId, u64>,
    stopped: bool,
}

impl Recovery {
    pub fn started(&mut self, t: u64, group: GroupId) {
        self.started.entry(group).or_insert(t);
    }

    pub fn fault_start(&mut self, t: u64, id: u32, kind: &str, target: &str) {
        let fault = Open { id, kind: kind.to_owned(), target: target.to_owned(), start: t, ..Open::default() };
        self.faults.push(fault);
    }

    pub fn fault_end(&mut self, t: u64, id: u32) {
        if let Some(f) = self.faults.iter_mut().find(|f| f.id == id) {
            f.end.get_or_insert(t);
        }
    }

    /// The run told its workers to stop: what follows is no fault's doing.
    pub fn stop(&mut self) {
        self.stopped = true;
    }

    /// A client error, or a rebalance seen by a member: a sign of the fault.
    pub fn sign(&mut self, t: u64, group: GroupId) {
        if self.stopped {
            return;
        }
        if let Some(f) = self.faults.last_mut() {
            f.detect.entry(group).or_insert(t.saturating_sub(f.start));
        }
    }

    pub fn assigned(&mut self, t: u64, member: Sym, group: GroupId, parts: &[Partition]) {
        self.sign(t, group);
        let held = &mut self.held.entry(member).or_insert_with(|| (group, BTreeSet::new())).1;
        let g = self.groups.entry(group).or_default();
        for &p in parts {
            if held.insert(p) {
                *g.holders.entry(p).or_default() += 1;
            }
        }
        self.check(t, group);
    }

    /// Revoked or lost partitions.
    pub fn released(&mut self, t: u64, member: Sym, parts: &[Partition]) {
        let Some((group, held)) = self.held.get_mut(&member) else { return };
        let group = *group;
        let released: Vec<Partition> = parts.iter().copied().filter(|p| held.remove(p)).collect();
        self.sign(t, group);
        self.release(member, group, &released);
    }

    pub fn finished(&mut self, member: Sym) {
        self.finished.insert(member);
    }

    /// A worker's process ended: whatever it held is held no more.
    pub fn exited(&mut self, member: Sym) {
        let Some((group, held)) = self.held.get_mut(&member) else { return };
        let group = *group;
        let released: Vec<Partition> = std::mem::take(held).into_iter().collect();
        self.release(member, group, &released);
    }

    fn release(&mut self, member: Sym, group: GroupId, parts: &[Partition]) {
        let g = self.groups.entry(group).or_default();
        let by_choice = self.finished.contains(&member) || self.stopped;
        for p in parts {
            match g.holders.get_mut(p) {
                // A partition left by a member that finished is no longer
                // the group's to hold, unless someone takes it up again.
                Some(n) if by_choice && *n == 1 => {
                    g.holders.remove(p);
                }
                Some(n) => *n = n.saturating_sub(1),
                None => {}
            }
        }
        if !self.stopped && !g.whole() {
            if let Some(f) = self.faults.last_mut() {
                f.disrupted.insert(group);
                f.whole_at.remove(&group);
            }
        }
    }

    fn check(&mut self, t: u64, group: GroupId) {
        if self.stopped || !self.groups.get(&group).is_some_and(Group::whole) {
            return;
        }
        for f in self.faults.iter_mut().filter(|f| f.disrupted.contains(&group)) {
            f.whole_at.entry(group).or_insert(t);
        }
    }

    /// Every fault, with a timing for each group that had started when it
    /// started, in the order the groups started.
    pub fn finish(self, name: impl Fn(GroupId) -> String) -> Vec<FaultTiming> {
        let mut groups: Vec<(u64, GroupId)> = self.started.iter().map(|(&g, &t)| (t, g)).collect();
        groups.sort_by_key(|&(t, g)| (t, g.index()));
        self.faults
            .into_iter()
            .map(|f| {
                let timings = groups
                    .iter()
                    .filter(|&&(t, _)| t <= f.start)
                    .map(|&(_, g)| {
                        let recover_ms = match (f.whole_at.get(&g), f.end) {
                            (Some(&at), Some(end)) => Some(at.saturating_sub(end)),
                            _ => None,
                        };
                        GroupTiming {
                            group: name(g),
                            detect_ms: f.detect.get(&g).copied(),
                            disrupted: f.disrupted.contains(&g),
                            recover_ms,
                        }
                    })
                    .collect();
                FaultTiming {
                    id: f.id,
                    kind: f.kind,
                    target: f.target,
                    start_ms: f.start,
                    end_ms: f.end,
                    groups: timings,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::check;
    use crate::ledger::Entry;

    /// The timings of a ledger written as (t, src, event JSON) lines.
    fn timings(lines: &[(u64, &str, &str)]) -> Vec<FaultTiming> {
        let entries = lines.iter().map(|(t, src, ev)| Entry {
            t: *t,
            src: src.to_string(),
            ev: serde_json::from_str(ev).unwrap_or_else(|e| panic!("{ev}: {e}")),
        });
        check(entries).faults
    }

    fn two_members() -> Vec<(u64, &'static str, &'static str)> {
        vec![
            (10, "g0-m0", r#"{"started":{"role":"consumer","group":"g"}}"#),
            (10, "g0-m1", r#"{"started":{"role":"consumer","group":"g"}}"#),
            (100, "g0-m0", r#"{"assigned":{"parts":[0],"generation":1}}"#),
            (100, "g0-m1", r#"{"assigned":{"parts":[1],"generation":1}}"#),
        ]
    }

    fn only(t: Vec<FaultTiming>) -> GroupTiming {
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0].groups.len(), 1, "{t:?}");
        t[0].groups[0].clone()
    }

    #[test]
    fn a_crash_is_detected_at_the_survivors_rebalance_and_recovered_when_all_is_held() {
        let mut l = two_members();
        l.extend([
            (5000, "nemesis", r#"{"fault-start":{"id":1,"kind":"crash-consumer","target":"g0-m1"}}"#),
            (5001, "g0-m1", r#"{"exited":{"signal":9}}"#),
            (5001, "nemesis", r#"{"fault-end":{"id":1}}"#),
            (11000, "g0-m0", r#"{"revoked":{"parts":[0],"generation":1}}"#),
            (11100, "g0-m0", r#"{"assigned":{"parts":[0,1],"generation":2}}"#),
        ]);
        let t = timings(&l);
        assert_eq!((t[0].start_ms, t[0].end_ms), (5000, Some(5001)));
        let g = only(t);
        assert_eq!(
            g,
            GroupTiming { group: "g".into(), detect_ms: Some(6000), disrupted: true, recover_ms: Some(6099) }
        );
    }

    #[test]
    fn a_cooperative_takeover_is_a_sign_too() {
        let mut l = two_members();
        l.extend([
            (5000, "nemesis", r#"{"fault-start":{"id":1,"kind":"crash-consumer","target":"g0-m1"}}"#),
            (5001, "g0-m1", r#"{"exited":{"signal":9}}"#),
            (5001, "nemesis", r#"{"fault-end":{"id":1}}"#),
            (11000, "g0-m0", r#"{"assigned":{"parts":[1],"generation":2}}"#),
        ]);
        let g = only(timings(&l));
        assert_eq!((g.detect_ms, g.disrupted, g.recover_ms), (Some(6000), true, Some(5999)));
    }

    #[test]
    fn a_client_error_without_a_rebalance_is_detected_but_nothing_to_recover() {
        let mut l = two_members();
        l.extend([
            (2000, "nemesis", r#"{"fault-start":{"id":1,"kind":"pause-broker","target":"broker-1"}}"#),
            (3000, "p0", r#"{"client-error":{"msg":"a producer's error is no sign for the group"}}"#),
            (4000, "g0-m1", r#"{"client-error":{"msg":"timed out"}}"#),
            (9000, "nemesis", r#"{"fault-end":{"id":1}}"#),
        ]);
        let g = only(timings(&l));
        assert_eq!((g.detect_ms, g.disrupted, g.recover_ms), (Some(2000), false, None));
    }

    #[test]
    fn a_fault_the_group_never_saw() {
        let mut l = two_members();
        l.extend([
            (2000, "nemesis", r#"{"fault-start":{"id":1,"kind":"pause-fetch","target":"g"}}"#),
            (5000, "nemesis", r#"{"fault-end":{"id":1}}"#),
        ]);
        let g = only(timings(&l));
        assert_eq!((g.detect_ms, g.disrupted, g.recover_ms), (None, false, None));
    }

    #[test]
    fn a_session_lost_in_a_pause_recovers_from_the_thaw() {
        let mut l = two_members();
        l.extend([
            (1000, "nemesis", r#"{"fault-start":{"id":1,"kind":"pause-broker","target":"broker-1"}}"#),
            (7000, "g0-m0", r#"{"lost":{"parts":[0],"generation":1}}"#),
            (7000, "g0-m1", r#"{"lost":{"parts":[1],"generation":1}}"#),
            (9000, "nemesis", r#"{"fault-end":{"id":1}}"#),
            (9100, "g0-m0", r#"{"assigned":{"parts":[0],"generation":2}}"#),
            (15000, "g0-m1", r#"{"assigned":{"parts":[1],"generation":2}}"#),
        ]);
        let g = only(timings(&l));
        assert_eq!((g.detect_ms, g.disrupted, g.recover_ms), (Some(6000), true, Some(6000)));
    }

    #[test]
    fn whole_again_before_the_fault_ends_is_zero() {
        let mut l = two_members();
        l.extend([
            (1000, "nemesis", r#"{"fault-start":{"id":1,"kind":"crash-consumer","target":"g0-m1"}}"#),
            (1000, "g0-m1", r#"{"exited":{"signal":9}}"#),
            (7000, "g0-m0", r#"{"assigned":{"parts":[1],"generation":2}}"#),
            (20000, "nemesis", r#"{"fault-end":{"id":1}}"#),
        ]);
        let g = only(timings(&l));
        assert_eq!((g.detect_ms, g.disrupted, g.recover_ms), (Some(6000), true, Some(0)));
    }

    #[test]
    fn never_whole_again_has_no_recovery_time() {
        let mut l = two_members();
        l.extend([
            (1000, "nemesis", r#"{"fault-start":{"id":1,"kind":"restart-broker","target":"broker-1"}}"#),
            (2000, "g0-m0", r#"{"lost":{"parts":[0],"generation":1}}"#),
            (5000, "nemesis", r#"{"fault-end":{"id":1}}"#),
        ]);
        let g = only(timings(&l));
        assert_eq!((g.detect_ms, g.disrupted, g.recover_ms), (Some(1000), true, None));
    }

    #[test]
    fn members_that_finish_and_the_stop_phase_leave_no_gap() {
        let mut l = two_members();
        l.extend([
            (1000, "nemesis", r#"{"fault-start":{"id":1,"kind":"pause-fetch","target":"g"}}"#),
            (2000, "nemesis", r#"{"fault-end":{"id":1}}"#),
            (3000, "g0-m1", r#""finished""#),
            (3001, "g0-m1", r#"{"revoked":{"parts":[1],"generation":1}}"#),
            (3002, "g0-m1", r#"{"exited":{"code":0}}"#),
            (9000, "runner", r#"{"phase":{"name":"stop"}}"#),
            (9001, "g0-m0", r#"{"revoked":{"parts":[0],"generation":1}}"#),
        ]);
        let g = only(timings(&l));
        // The finished member's revoke is a sign (it rebalanced), no gap.
        assert_eq!((g.disrupted, g.recover_ms), (false, None));
    }

    #[test]
    fn signs_and_gaps_belong_to_the_latest_fault() {
        let mut l = two_members();
        l.extend([
            (1000, "nemesis", r#"{"fault-start":{"id":1,"kind":"pause-fetch","target":"g"}}"#),
            (2000, "nemesis", r#"{"fault-end":{"id":1}}"#),
            (5000, "nemesis", r#"{"fault-start":{"id":2,"kind":"crash-consumer","target":"g0-m1"}}"#),
            (5000, "g0-m1", r#"{"exited":{"signal":9}}"#),
            (5000, "nemesis", r#"{"fault-end":{"id":2}}"#),
            (11000, "g0-m0", r#"{"assigned":{"parts":[1],"generation":2}}"#),
        ]);
        let t = timings(&l);
        assert_eq!(t.len(), 2);
        assert_eq!((t[0].groups[0].detect_ms, t[0].groups[0].disrupted), (None, false));
        assert_eq!(
            (t[1].groups[0].detect_ms, t[1].groups[0].disrupted, t[1].groups[0].recover_ms),
            (Some(6000), true, Some(6000))
        );
    }

    #[test]
    fn a_group_that_starts_after_the_fault_is_not_timed_for_it() {
        let l = vec![
            (1000, "nemesis", r#"{"fault-start":{"id":1,"kind":"pause-broker","target":"broker-1"}}"#),
            (2000, "nemesis", r#"{"fault-end":{"id":1}}"#),
            (3000, "g0-m0", r#"{"started":{"role":"consumer","group":"late"}}"#),
        ];
        assert!(timings(&l)[0].groups.is_empty());
    }
}
