//! Live figures of a run, derived from the event stream as it is written to
//! the ledger: they drive progress-based fault triggers, the drain and the
//! progress bars. The checker never uses them; it reads the ledger.

use std::collections::HashMap;
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
    /// Highest offset processed, per group and partition.
    max_processed: HashMap<String, HashMap<Partition, Offset>>,
    /// Highest offset committed successfully, per group and partition.
    max_committed: HashMap<String, HashMap<Partition, Offset>>,
    /// The first worker that exited with an error code: (name, code).
    failed: Option<(String, i32)>,
}

enum Mark {
    Processed,
    Committed,
}

impl State {
    /// Raises the group's high mark of `kind` on partition `p` to `o`.
    /// Runs for every processed record: no allocation once the group is known.
    fn raise(&mut self, kind: Mark, member: &str, p: Partition, o: Offset) {
        let Some(group) = self.group_of.get(member) else { return };
        let marks = match kind {
            Mark::Processed => &mut self.max_processed,
            Mark::Committed => &mut self.max_committed,
        };
        if !marks.contains_key(group) {
            marks.insert(group.clone(), HashMap::new());
        }
        let max = marks.get_mut(group).expect("inserted above").entry(p).or_insert(-1);
        *max = (*max).max(o);
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
                st.raise(Mark::Processed, &entry.src, *p, *o);
            }
            // A seek past records is progress too: they are not the group's
            // to process, and the drain must not wait for them.
            Event::Seek { p, to, .. } => {
                self.state.lock().expect("progress").raise(Mark::Processed, &entry.src, *p, *to - 1);
            }
            Event::Committed { p, o, err: None } => {
                self.state.lock().expect("progress").raise(Mark::Committed, &entry.src, *p, *o);
            }
            // A worker's own error (bad property, client creation failed…).
            // Killed workers have no code, finished ones exit 0.
            Event::Exited { code: Some(code), .. } if *code != 0 => {
                self.state.lock().expect("progress").failed.get_or_insert((entry.src.clone(), *code));
            }
            Event::Started { group: Some(group), .. } => {
                self.state.lock().expect("progress").group_of.insert(entry.src.clone(), group.clone());
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

    /// The first worker that failed by itself, if any.
    pub fn failed_worker(&self) -> Option<(String, i32)> {
        self.state.lock().expect("progress").failed.clone()
    }

    /// Records processed by one member (under its name, replacements included).
    pub fn processed_by(&self, member: &str) -> u64 {
        self.state.lock().expect("progress").processed_by.get(member).copied().unwrap_or(0)
    }

    /// True once `group` has processed a record at or past `hwm - 1` in
    /// every partition that holds records.
    pub fn processed_up_to(&self, group: &str, hwms: &[(Partition, Offset)]) -> bool {
        let st = self.state.lock().expect("progress");
        let max = st.max_processed.get(group);
        hwms.iter().all(|(p, hwm)| *hwm == 0 || max.and_then(|m| m.get(p)).is_some_and(|o| *o + 1 >= *hwm))
    }

    /// True once `group` has committed `hwm` in every partition that holds
    /// records.
    pub fn committed_up_to(&self, group: &str, hwms: &[(Partition, Offset)]) -> bool {
        let st = self.state.lock().expect("progress");
        let max = st.max_committed.get(group);
        hwms.iter().all(|(p, hwm)| *hwm == 0 || max.and_then(|m| m.get(p)).is_some_and(|o| *o >= *hwm))
    }
}
