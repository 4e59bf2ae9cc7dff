//! Live figures of a run, derived from the event stream as it is written to
//! the ledger: they drive progress-based fault triggers, the drain and the
//! progress bars. The checker never uses them; it reads the ledger.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::ledger::{Entry, Event, Offset, Partition};

#[derive(Default)]
pub struct Progress {
    acked: AtomicU64,
    processed: AtomicU64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    group_of: HashMap<String, String>,
    /// Records processed, per worker (member) name.
    processed_by: HashMap<String, u64>,
    /// Records held on request (`holding-record`), per member name.
    records_held: HashMap<String, u64>,
    /// Who holds each partition now, per group.
    holders: HashMap<String, HashMap<Partition, Holder>>,
    /// Highest offset committed successfully, per group and partition.
    max_committed: HashMap<String, HashMap<Partition, Offset>>,
    /// Workers that reported `started`.
    started: HashSet<String>,
    /// The first worker that exited with an error code, or exited before it
    /// started: (name, code).
    failed: Option<(String, String)>,
}

/// The member that holds a partition, and how far it has got with it since
/// it was assigned it.
struct Holder {
    member: String,
    /// The offset after the last record it processed (or seeked past); at
    /// the assignment, the group's last commit, where it starts reading.
    next: Offset,
}

impl State {
    /// The holder of `p` in `member`'s group, if it is `member`.
    fn held_by(&mut self, member: &str, p: Partition) -> Option<&mut Holder> {
        let group = self.group_of.get(member)?;
        self.holders.get_mut(group)?.get_mut(&p).filter(|h| h.member == member)
    }

    /// `member` got or lost `parts`.
    fn hold(&mut self, member: &str, parts: &[Partition], got: bool) {
        let Some(group) = self.group_of.get(member) else { return };
        let committed = self.max_committed.get(group);
        let holders = self.holders.entry(group.clone()).or_default();
        for &p in parts {
            if got {
                let next = committed.and_then(|c| c.get(&p)).copied().unwrap_or(0);
                holders.insert(p, Holder { member: member.to_string(), next });
            } else if holders.get(&p).is_some_and(|h| h.member == member) {
                holders.remove(&p);
            }
        }
    }

    /// A successful commit by `member`. A commit by another member than the
    /// holder is where the holder starts (a previous owner's last commit).
    fn committed(&mut self, member: &str, p: Partition, o: Offset) {
        let Some(group) = self.group_of.get(member) else { return };
        let max = self.max_committed.entry(group.clone()).or_default().entry(p).or_insert(0);
        *max = (*max).max(o);
        if let Some(h) = self.holders.get_mut(group).and_then(|hs| hs.get_mut(&p)) {
            if h.member != member {
                h.next = h.next.max(o);
            }
        }
    }
}

impl Progress {
    pub fn observe(&self, entry: &Entry) {
        match &entry.ev {
            Event::Acked { .. } => {
                self.acked.fetch_add(1, Ordering::Relaxed);
            }
            Event::Processed { p, o, .. } => {
                self.processed.fetch_add(1, Ordering::Relaxed);
                let mut st = self.state.lock().expect("progress");
                match st.processed_by.get_mut(&entry.src) {
                    Some(n) => *n += 1,
                    None => {
                        st.processed_by.insert(entry.src.clone(), 1);
                    }
                }
                if let Some(h) = st.held_by(&entry.src, *p) {
                    h.next = h.next.max(o + 1);
                }
            }
            Event::HoldingRecord { .. } => {
                *self.state.lock().expect("progress").records_held.entry(entry.src.clone()).or_default() += 1;
            }
            // A seek past records is progress too: they are not the group's
            // to process, and the drain must not wait for them.
            Event::Seek { p, to, .. } => {
                if let Some(h) = self.state.lock().expect("progress").held_by(&entry.src, *p) {
                    h.next = h.next.max(*to);
                }
            }
            Event::Committed { p, o, err: None } => {
                self.state.lock().expect("progress").committed(&entry.src, *p, *o);
            }
            Event::Assigned { parts, .. } => self.state.lock().expect("progress").hold(&entry.src, parts, true),
            Event::Revoked { parts, .. } | Event::Lost { parts, .. } => {
                self.state.lock().expect("progress").hold(&entry.src, parts, false)
            }
            Event::Exited { code, .. } => {
                let mut guard = self.state.lock().expect("progress");
                let st = &mut *guard;
                if let Some(group) = st.group_of.get(&entry.src) {
                    if let Some(holders) = st.holders.get_mut(group) {
                        holders.retain(|_, h| h.member != entry.src);
                    }
                }
                // A worker's own error (bad property, client creation
                // failed…), or one that ended before it said it started (not
                // a worker at all). Killed workers have no code, finished
                // ones exit 0.
                let why = match code {
                    Some(0) if !st.started.contains(&entry.src) => Some("exited before it said `started`".to_string()),
                    Some(0) | None => None,
                    Some(code) => Some(format!("exited with code {code}")),
                };
                if let Some(why) = why {
                    st.failed.get_or_insert((entry.src.clone(), why));
                }
            }
            Event::Unreadable { line, why } => {
                let why = format!("wrote a line that is not a worker's event: {line:?} ({why})");
                self.state.lock().expect("progress").failed.get_or_insert((entry.src.clone(), why));
            }
            Event::Started { group, .. } => {
                let mut st = self.state.lock().expect("progress");
                st.started.insert(entry.src.clone());
                if let Some(group) = group {
                    st.group_of.insert(entry.src.clone(), group.clone());
                }
            }
            _ => {}
        }
    }

    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::Relaxed)
    }

    pub fn processed(&self) -> u64 {
        self.processed.load(Ordering::Relaxed)
    }

    /// The first worker that failed by itself or broke the protocol, and
    /// what it did.
    pub fn failed_worker(&self) -> Option<(String, String)> {
        self.state.lock().expect("progress").failed.clone()
    }

    /// Records processed by one member (under its name, replacements included).
    pub fn processed_by(&self, member: &str) -> u64 {
        self.state.lock().expect("progress").processed_by.get(member).copied().unwrap_or(0)
    }

    /// Records `member` has held on request so far.
    pub fn records_held(&self, member: &str) -> u64 {
        self.state.lock().expect("progress").records_held.get(member).copied().unwrap_or(0)
    }

    /// True when every partition that holds records is held by a member of
    /// `group` that has got to `hwm` since it was assigned it. A group whose
    /// member lost its partitions and has not rejoined yet is not caught up,
    /// whatever it processed before: when it rejoins it reads again from its
    /// last commit.
    pub fn caught_up(&self, group: &str, hwms: &[(Partition, Offset)]) -> bool {
        let st = self.state.lock().expect("progress");
        let holders = st.holders.get(group);
        hwms.iter().all(|(p, hwm)| *hwm == 0 || holders.and_then(|h| h.get(p)).is_some_and(|h| h.next >= *hwm))
    }

    /// True once `group` has committed `hwm` in every partition that holds
    /// records.
    pub fn committed_up_to(&self, group: &str, hwms: &[(Partition, Offset)]) -> bool {
        let st = self.state.lock().expect("progress");
        let max = st.max_committed.get(group);
        hwms.iter().all(|(p, hwm)| *hwm == 0 || max.and_then(|m| m.get(p)).is_some_and(|o| *o >= *hwm))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{RecordId, Role};

    fn feed(progress: &Progress, src: &str, ev: Event) {
        progress.observe(&Entry { t: 0, src: src.into(), ev });
    }

    fn started(progress: &Progress, member: &str) {
        feed(progress, member, Event::Started { role: Role::Consumer, group: Some("g".into()) });
    }

    fn processed(progress: &Progress, member: &str, offsets: std::ops::Range<Offset>) {
        for o in offsets {
            feed(progress, member, Event::Processed { p: 0, o, id: RecordId { producer: 0, seq: o as u64 } });
        }
    }

    const HWM: [(Partition, Offset); 1] = [(0, 3800)];

    #[test]
    fn a_lost_session_is_caught_up_again_only_after_reading_again_from_the_commit() {
        let progress = Progress::default();
        started(&progress, "m0");
        feed(&progress, "m0", Event::Assigned { parts: vec![0], generation: 1 });
        processed(&progress, "m0", 0..2000);
        feed(&progress, "m0", Event::Committed { p: 0, o: 2000, err: None });
        processed(&progress, "m0", 2000..3800);
        assert!(progress.caught_up("g", &HWM));
        assert!(!progress.committed_up_to("g", &HWM));
        // The session is lost: everything processed, but nothing held.
        feed(&progress, "m0", Event::Lost { parts: vec![0], generation: 1 });
        assert!(!progress.caught_up("g", &HWM));
        // Back in the group, it starts from its last commit.
        feed(&progress, "m0", Event::Assigned { parts: vec![0], generation: 2 });
        assert!(!progress.caught_up("g", &HWM));
        processed(&progress, "m0", 2000..3799);
        assert!(!progress.caught_up("g", &HWM));
        processed(&progress, "m0", 3799..3800);
        assert!(progress.caught_up("g", &HWM));
    }

    #[test]
    fn a_member_assigned_at_a_commit_at_the_end_has_nothing_to_read() {
        let progress = Progress::default();
        started(&progress, "m0");
        feed(&progress, "m0", Event::Committed { p: 0, o: 3800, err: None });
        feed(&progress, "m0", Event::Assigned { parts: vec![0], generation: 3 });
        assert!(progress.caught_up("g", &HWM) && progress.committed_up_to("g", &HWM));
        assert!(progress.caught_up("g", &[(0, 0)]), "an empty partition needs no holder");
    }

    #[test]
    fn a_new_holder_starts_at_the_previous_owners_last_commit() {
        let progress = Progress::default();
        started(&progress, "m0");
        started(&progress, "m1");
        feed(&progress, "m1", Event::Assigned { parts: vec![0], generation: 2 });
        // m0's commit on its way out lands after m1's assignment.
        feed(&progress, "m0", Event::Committed { p: 0, o: 3800, err: None });
        assert!(progress.caught_up("g", &HWM));
        // The holder's own commits do not move where it is.
        let progress = Progress::default();
        started(&progress, "m0");
        feed(&progress, "m0", Event::Assigned { parts: vec![0], generation: 1 });
        feed(&progress, "m0", Event::Committed { p: 0, o: 3800, err: None });
        assert!(!progress.caught_up("g", &HWM), "an auto commit can run ahead of processing");
    }

    #[test]
    fn a_worker_that_ends_before_it_started_has_failed() {
        let progress = Progress::default();
        started(&progress, "m0");
        feed(&progress, "m0", Event::Exited { code: Some(0), signal: None });
        assert_eq!(progress.failed_worker(), None, "a finished worker exits 0");
        feed(&progress, "m1", Event::Exited { code: Some(0), signal: None });
        let (name, why) = progress.failed_worker().expect("not a worker at all");
        assert_eq!((name.as_str(), why.as_str()), ("m1", "exited before it said `started`"));
        let progress = Progress::default();
        feed(&progress, "m2", Event::Unreadable { line: "garbage".into(), why: "expected value".into() });
        let (name, why) = progress.failed_worker().expect("garbage breaks the protocol");
        assert_eq!(name, "m2");
        assert!(why.contains("\"garbage\""), "{why}");
    }

    #[test]
    fn partitions_go_with_the_member_that_exits_or_is_revoked() {
        let progress = Progress::default();
        started(&progress, "m0");
        started(&progress, "m1");
        feed(&progress, "m0", Event::Assigned { parts: vec![0], generation: 1 });
        processed(&progress, "m0", 0..3800);
        feed(&progress, "m0", Event::Exited { code: None, signal: Some(9) });
        assert!(!progress.caught_up("g", &HWM));
        feed(&progress, "m1", Event::Assigned { parts: vec![0], generation: 2 });
        feed(&progress, "m1", Event::Seek { p: 0, from: 0, to: 3800 });
        assert!(progress.caught_up("g", &HWM), "a seek to the end is progress");
        // A stale revoke from another member does not take m1's partition.
        feed(&progress, "m0", Event::Revoked { parts: vec![0], generation: 1 });
        assert!(progress.caught_up("g", &HWM));
        feed(&progress, "m1", Event::Revoked { parts: vec![0], generation: 2 });
        assert!(!progress.caught_up("g", &HWM));
    }
}
