//! What timeline.html draws, gathered while the checker reads the ledger, so
//! that the page and the verdict count the same records.
//!
//! It stays small whatever the ledger size: every series has at most
//! [`MAX_BUCKETS`] time buckets (their width doubles to stay below), and at
//! most [`MAX_SHAPES`] fault bands, assignment bars, starts, exits and drain
//! timeouts are kept; the others are counted in [`Timeline::clipped`].

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::groups::{GroupId, Groups};
use super::intern::{Interner, Sym};
use crate::ledger::Partition;

/// Most time buckets a series holds; the bucket width doubles to stay below.
pub const MAX_BUCKETS: u64 = 400;
/// Width of a bucket while the run is short enough.
const FIRST_WIDTH_MS: u64 = 100;
/// Most fault bands, assignment bars, starts, exits and timeouts kept.
const MAX_SHAPES: usize = 5000;

/// A run on one time axis: faults, phases, consumers and their partitions,
/// and records per time bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timeline {
    /// Time (ms) of the last entry: the right end of the axis.
    pub end: u64,
    /// Bucket width (ms) of the series.
    pub width: u64,
    pub phases: Vec<Phase>,
    pub faults: Vec<Fault>,
    /// Consumers, in order of their first start.
    pub members: Vec<Member>,
    /// Per bucket: records acked, records processed, and records processed
    /// again by the same group (the redeliveries the verdict counts).
    pub acked: Vec<u64>,
    pub processed: Vec<u64>,
    pub redelivered: Vec<u64>,
    /// Per group with members, in order of its first member's start.
    pub lag: Vec<Lag>,
    /// Every `DrainTimeout` entry; the verdict's `drain_timeouts` names each
    /// group once.
    pub drain_timeouts: Vec<DrainTimeout>,
    /// Shapes left out to keep the timeline small.
    pub clipped: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Phase {
    pub t: u64,
    pub name: String,
}

/// A fault from its start to its end, or to the end of the run if it never
/// ended (`ended` false).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    pub id: u32,
    pub kind: String,
    pub target: String,
    pub t0: u64,
    pub t1: u64,
    pub ended: bool,
    pub err: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    /// The group it first started in.
    pub group: String,
    pub starts: Vec<u64>,
    pub spans: Vec<Span>,
    pub exits: Vec<Exit>,
}

/// Partitions a member held together, from one assignment to one end.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Span {
    pub t0: u64,
    pub t1: u64,
    pub gen: i32,
    pub parts: Vec<Partition>,
    pub end: SpanEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpanEnd {
    Revoked,
    Lost,
    Exited,
    /// Still held at the end of the ledger.
    Open,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Exit {
    pub t: u64,
    /// Killed by a signal.
    pub crash: bool,
    pub how: String,
}

/// Per bucket: records acked so far less the group's distinct records
/// processed so far (never below 0: a record can be processed before its ack
/// lands).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lag {
    pub group: String,
    pub values: Vec<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DrainTimeout {
    pub t: u64,
    pub group: String,
}

// ---- gathering ------------------------------------------------------------------

/// Counts per time bucket for several series at once.
#[derive(Debug)]
struct Bins {
    width: u64,
    series: Vec<Vec<u64>>,
}

const ACKED: usize = 0;
const PROCESSED: usize = 1;
const REDELIVERED: usize = 2;
/// Series of the first-time records of the group in slot `s`: `UNIQUE + s`.
const UNIQUE: usize = 3;

impl Timeline {
    /// Milliseconds from the start of phase `from` to the start of `to`.
    pub fn between(&self, from: &str, to: &str) -> Option<u64> {
        let at = |name: &str| self.phases.iter().find(|p| p.name == name).map(|p| p.t);
        Some(at(to)?.saturating_sub(at(from)?))
    }
}

impl Default for Bins {
    fn default() -> Self {
        Bins { width: FIRST_WIDTH_MS, series: Vec::new() }
    }
}

impl Bins {
    fn add(&mut self, series: usize, t: u64) {
        let i = self.index(t);
        if self.series.len() <= series {
            self.series.resize_with(series + 1, Vec::new);
        }
        let row = &mut self.series[series];
        if row.len() <= i {
            row.resize(i + 1, 0);
        }
        row[i] += 1;
    }

    /// The bucket of `t`, widening buckets until it fits.
    fn index(&mut self, t: u64) -> usize {
        while t / self.width >= MAX_BUCKETS {
            self.width *= 2;
            for row in &mut self.series {
                *row = row.chunks(2).map(|pair| pair.iter().sum()).collect();
            }
        }
        (t / self.width) as usize
    }

    /// Series `s` over `len` buckets.
    fn row(&self, s: usize, len: usize) -> Vec<u64> {
        let mut row = self.series.get(s).cloned().unwrap_or_default();
        row.resize(len, 0);
        row
    }
}

/// A member while the ledger is read; names are resolved at the end.
#[derive(Debug)]
struct Held {
    name: Sym,
    group: GroupId,
    starts: Vec<u64>,
    spans: Vec<Span>,
    exits: Vec<Exit>,
    /// Assigned partitions not yet revoked: when and in which generation.
    open: BTreeMap<Partition, (u64, i32)>,
}

impl Held {
    /// Ends the hold on `parts` (all when `None`) at `t`; partitions assigned
    /// together make one span.
    fn close(&mut self, t: u64, parts: Option<&[Partition]>, end: SpanEnd) -> Vec<Span> {
        let parts: Vec<Partition> = match parts {
            Some(parts) => parts.to_vec(),
            None => self.open.keys().copied().collect(),
        };
        let mut spans: BTreeMap<(u64, i32), Vec<Partition>> = BTreeMap::new();
        for p in parts {
            if let Some(start) = self.open.remove(&p) {
                spans.entry(start).or_default().push(p);
            }
        }
        spans.into_iter().map(|((t0, gen), parts)| Span { t0, t1: t, gen, parts, end }).collect()
    }
}

/// The [`Timeline`] being gathered, fed by the checker as it reads.
#[derive(Debug, Default)]
pub(super) struct Plot {
    end: u64,
    bins: Bins,
    /// Groups with members, in order of their first member; the position is
    /// the group's slot.
    groups: Vec<GroupId>,
    /// Group id → its slot.
    slots: Vec<Option<usize>>,
    members: Vec<Held>,
    /// Member name → its index in `members` (left out ones have none).
    held: Vec<Option<usize>>,
    faults: Vec<Fault>,
    /// Fault id → its index in `faults`, until it ends.
    open_faults: HashMap<u32, usize>,
    phases: Vec<Phase>,
    drain_timeouts: Vec<DrainTimeout>,
    shapes: usize,
    clipped: u64,
}

impl Plot {
    /// Every entry, for the end of the axis.
    pub fn saw(&mut self, t: u64) {
        self.end = self.end.max(t);
    }

    pub fn acked(&mut self, t: u64) {
        self.bins.add(ACKED, t);
    }

    pub fn processed(&mut self, t: u64) {
        self.bins.add(PROCESSED, t);
    }

    pub fn redelivered(&mut self, t: u64) {
        self.bins.add(REDELIVERED, t);
    }

    /// A record `group` processed for the first time.
    pub fn unique(&mut self, group: GroupId, t: u64) {
        let slot = self.slot(group);
        self.bins.add(UNIQUE + slot, t);
    }

    /// `member` (re)starts in `group`; it gets a row the first time.
    pub fn joined(&mut self, member: Sym, group: GroupId) {
        self.slot(group);
        if self.member(member).is_some() || !self.keep() {
            return;
        }
        let i = member.index();
        if self.held.len() <= i {
            self.held.resize(i + 1, None);
        }
        self.held[i] = Some(self.members.len());
        let held = Held {
            name: member,
            group,
            starts: Vec::new(),
            spans: Vec::new(),
            exits: Vec::new(),
            open: BTreeMap::new(),
        };
        self.members.push(held);
    }

    /// A `Started` entry of a member that [`Plot::joined`].
    pub fn started(&mut self, member: Sym, t: u64) {
        if self.member(member).is_some() && self.keep() {
            self.member(member).expect("checked above").starts.push(t);
        }
    }

    pub fn assigned(&mut self, member: Sym, t: u64, parts: &[Partition], generation: i32) {
        if let Some(m) = self.member(member) {
            for &p in parts {
                m.open.entry(p).or_insert((t, generation));
            }
        }
    }

    /// Ends `member`'s hold on `parts` (all of them when `None`).
    pub fn closed(&mut self, member: Sym, t: u64, parts: Option<&[Partition]>, end: SpanEnd) {
        let Some(m) = self.member(member) else { return };
        for span in m.close(t, parts, end) {
            if self.keep() {
                self.member(member).expect("checked above").spans.push(span);
            }
        }
    }

    pub fn exited(&mut self, member: Sym, t: u64, code: Option<i32>, signal: Option<i32>) {
        self.closed(member, t, None, SpanEnd::Exited);
        if self.member(member).is_none() || !self.keep() {
            return;
        }
        let how = match (signal, code) {
            (Some(s), _) => format!("killed by signal {s}"),
            (None, Some(c)) => format!("exit code {c}"),
            (None, None) => "exited".into(),
        };
        let exit = Exit { t, crash: signal.is_some(), how };
        self.member(member).expect("checked above").exits.push(exit);
    }

    pub fn fault_start(&mut self, t: u64, id: u32, kind: &str, target: &str) {
        if !self.keep() {
            return;
        }
        self.open_faults.insert(id, self.faults.len());
        let fault = Fault { id, kind: kind.into(), target: target.into(), t0: t, t1: t, ended: false, err: None };
        self.faults.push(fault);
    }

    pub fn fault_end(&mut self, t: u64, id: u32, err: &Option<String>) {
        if let Some(i) = self.open_faults.remove(&id) {
            let f = &mut self.faults[i];
            (f.t1, f.ended, f.err) = (t, true, err.clone());
        }
    }

    pub fn phase(&mut self, t: u64, name: &str) {
        self.phases.push(Phase { t, name: name.to_owned() });
    }

    pub fn drain_timeout(&mut self, t: u64, group: &str) {
        if self.keep() {
            self.drain_timeouts.push(DrainTimeout { t, group: group.to_owned() });
        }
    }

    /// Whether one more shape fits; counts the ones that do not.
    fn keep(&mut self) -> bool {
        if self.shapes < MAX_SHAPES {
            self.shapes += 1;
            true
        } else {
            self.clipped += 1;
            false
        }
    }

    fn member(&mut self, member: Sym) -> Option<&mut Held> {
        let i = (*self.held.get(member.index())?)?;
        self.members.get_mut(i)
    }

    fn slot(&mut self, group: GroupId) -> usize {
        let i = group.index();
        if self.slots.len() <= i {
            self.slots.resize(i + 1, None);
        }
        *self.slots[i].get_or_insert_with(|| {
            self.groups.push(group);
            self.groups.len() - 1
        })
    }

    /// Closes what is still open at the last entry and names members and
    /// groups.
    pub fn finish(mut self, names: &Interner, groups: &Groups) -> Timeline {
        let end = self.end;
        for i in 0..self.members.len() {
            for span in self.members[i].close(end, None, SpanEnd::Open) {
                if self.keep() {
                    self.members[i].spans.push(span);
                }
            }
        }
        for &i in self.open_faults.values() {
            self.faults[i].t1 = end;
        }
        let len = self.bins.index(end) + 1;
        let acked = self.bins.row(ACKED, len);
        let lag = (self.groups.iter().enumerate())
            .map(|(s, &g)| Lag {
                group: groups.name(g).to_owned(),
                values: lag(&acked, &self.bins.row(UNIQUE + s, len)),
            })
            .collect();
        let members = (self.members.into_iter())
            .map(|m| Member {
                name: names.name(m.name).to_owned(),
                group: groups.name(m.group).to_owned(),
                starts: m.starts,
                spans: m.spans,
                exits: m.exits,
            })
            .collect();
        Timeline {
            end,
            width: self.bins.width,
            phases: self.phases,
            faults: self.faults,
            members,
            processed: self.bins.row(PROCESSED, len),
            redelivered: self.bins.row(REDELIVERED, len),
            acked,
            lag,
            drain_timeouts: self.drain_timeouts,
            clipped: self.clipped,
        }
    }
}

/// Running sums of acked less running sums of unique, per bucket.
fn lag(acked: &[u64], unique: &[u64]) -> Vec<u64> {
    let (mut a, mut u) = (0u64, 0u64);
    acked
        .iter()
        .zip(unique)
        .map(|(x, y)| {
            (a, u) = (a + x, u + y);
            a.saturating_sub(u)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::check;
    use crate::ledger::{Entry, Event, RecordId, Role};

    fn entry(t: u64, src: &str, ev: Event) -> Entry {
        Entry { t, src: src.into(), ev }
    }

    fn started(t: u64) -> Entry {
        entry(t, "c", Event::Started { role: Role::Consumer, group: Some("g".into()) })
    }

    #[test]
    fn partitions_assigned_together_end_together() {
        let tl = check([
            started(0),
            entry(10, "c", Event::Assigned { parts: vec![0, 1], generation: 1 }),
            entry(20, "c", Event::Assigned { parts: vec![2], generation: 1 }),
            entry(30, "c", Event::Revoked { parts: vec![2, 1], generation: 1 }),
            entry(40, "c", Event::Assigned { parts: vec![1], generation: 2 }),
            entry(50, "c", Event::Lost { parts: vec![1], generation: 2 }),
            entry(60, "runner", Event::Phase { name: "drain".into() }),
        ])
        .timeline;
        let spans: Vec<_> = tl.members[0].spans.iter().map(|s| (s.t0, s.t1, s.gen, s.parts.clone(), s.end)).collect();
        assert_eq!(
            spans,
            [
                (10, 30, 1, vec![1], SpanEnd::Revoked),
                (20, 30, 1, vec![2], SpanEnd::Revoked),
                (40, 50, 2, vec![1], SpanEnd::Lost),
                (10, 60, 1, vec![0], SpanEnd::Open),
            ]
        );
    }

    #[test]
    fn buckets_widen_and_keep_their_counts() {
        let acked = |t: u64| entry(t, "p", Event::Acked { id: RecordId { producer: 0, seq: t }, p: 0, o: 0 });
        let last = MAX_BUCKETS * FIRST_WIDTH_MS;
        let tl = check([acked(0), acked(last - 1), acked(last)]).timeline;
        assert_eq!(tl.width, 2 * FIRST_WIDTH_MS);
        assert_eq!(tl.acked.len(), MAX_BUCKETS as usize / 2 + 1);
        assert_eq!((tl.acked[0], tl.acked[tl.acked.len() - 2], tl.acked[tl.acked.len() - 1]), (1, 1, 1));
    }

    #[test]
    fn shapes_past_the_cap_are_counted_not_kept() {
        let faults = (0..MAX_SHAPES as u32 + 3).map(|id| {
            entry(
                u64::from(id),
                "nemesis",
                Event::FaultStart { id, kind: "pause".into(), target: "broker-1".into(), role: None },
            )
        });
        let tl = check(faults).timeline;
        assert_eq!((tl.faults.len(), tl.clipped), (MAX_SHAPES, 3));
        assert!(tl.faults.iter().all(|f| !f.ended && f.t1 == tl.end), "never ended: to the end of the run");
    }
}
