//! Properties of the checker: clean histories give a clean verdict, and each
//! anomaly planted into a clean history is counted exactly and named.
//!
//! Histories come from a small model of a run: producers append records to
//! partitions, one group of 1–3 members consumes them, partitions move
//! between members on rebalances (eager: the old owner commits its position
//! before it revokes, so the new owner resumes exactly there), members seek
//! forward now and then, and the audit reads the log back at the end.

use faultline::checker::timeline::MAX_BUCKETS;
use faultline::checker::{check, Class, Verdict};
use faultline::ledger::{Entry, Event, Offset, Partition, RecordId, Role};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

const GROUP: &str = "g";
const CASES: u32 = 2000;

fn config() -> ProptestConfig {
    ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() }
}

fn consumer(m: usize) -> String {
    format!("consumer-{m}")
}

fn producer(n: usize) -> String {
    format!("producer-{n}")
}

// ---- the model --------------------------------------------------------------

#[derive(Debug, Clone)]
enum Action {
    Produce { producer: usize, p: usize },
    Fail { producer: usize },
    Consume { member: usize, n: usize },
    Commit { member: usize },
    Rebalance { seed: u64 },
    Seek { member: usize, n: usize },
    Fault,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0..2usize, 0..3usize).prop_map(|(producer, p)| Action::Produce { producer, p }),
        1 => (0..2usize).prop_map(|producer| Action::Fail { producer }),
        4 => (0..3usize, 1..4usize).prop_map(|(member, n)| Action::Consume { member, n }),
        2 => (0..3usize).prop_map(|member| Action::Commit { member }),
        1 => any::<u64>().prop_map(|seed| Action::Rebalance { seed }),
        1 => (0..3usize, 1..3usize).prop_map(|(member, n)| Action::Seek { member, n }),
        1 => Just(Action::Fault),
    ]
}

/// A point right after a member was assigned a partition it resumes at `at`.
#[derive(Debug, Clone)]
struct Resume {
    index: usize,
    member: usize,
    p: usize,
    at: Offset,
    generation: i32,
}

/// A clean history and what the model knows about it.
#[derive(Debug, Clone)]
struct History {
    entries: Vec<Entry>,
    /// Record ids by partition, in offset order: the log.
    logs: Vec<Vec<RecordId>>,
    /// Bounded groups stop here, per partition.
    snapshot: Option<Vec<Offset>>,
    owner: Vec<usize>,
    resumes: Vec<Resume>,
    /// Where consumption ends (before the final commits, exits and audit).
    end: usize,
    sought: u64,
}

struct Sim {
    h: History,
    producers: usize,
    members: usize,
    seqs: Vec<u64>,
    pos: Vec<Offset>,
    committed: Vec<Offset>,
    generation: i32,
    faults: u32,
}

impl Sim {
    fn emit(&mut self, src: &str, ev: Event) {
        let t = self.h.entries.len() as u64 * 3;
        self.h.entries.push(Entry { t, src: src.to_owned(), ev });
    }

    fn parts(&self) -> usize {
        self.h.logs.len()
    }

    fn owned(&self, member: usize) -> Vec<usize> {
        (0..self.parts()).filter(|&p| self.h.owner[p] == member).collect()
    }

    /// Where consumption of `p` must stop.
    fn end(&self, p: usize) -> Offset {
        let len = self.h.logs[p].len() as Offset;
        self.h.snapshot.as_ref().map_or(len, |s| s[p].min(len))
    }

    fn produce(&mut self, producer: usize, p: usize) {
        let (producer, p) = (producer % self.producers, p % self.parts());
        let id = RecordId { producer: producer as u32, seq: self.seqs[producer] };
        self.seqs[producer] += 1;
        let o = self.h.logs[p].len() as Offset;
        self.h.logs[p].push(id);
        self.emit(&self::producer(producer), Event::Sent { id, key: None });
        self.emit(&self::producer(producer), Event::Acked { id, p: p as Partition, o });
    }

    fn fail(&mut self, producer: usize) {
        let producer = producer % self.producers;
        let id = RecordId { producer: producer as u32, seq: self.seqs[producer] };
        self.seqs[producer] += 1;
        self.emit(&self::producer(producer), Event::Sent { id, key: None });
        self.emit(&self::producer(producer), Event::Failed { id, msg: "timed out".into() });
    }

    fn consume(&mut self, member: usize, mut n: usize) {
        let member = member % self.members;
        for p in self.owned(member) {
            while n > 0 && self.pos[p] < self.end(p) {
                let o = self.pos[p];
                let id = self.h.logs[p][o as usize];
                self.emit(&consumer(member), Event::Processed { p: p as Partition, o, id });
                self.pos[p] += 1;
                n -= 1;
            }
        }
    }

    fn commit(&mut self, member: usize) {
        let member = member % self.members;
        for p in self.owned(member) {
            if self.pos[p] > self.committed[p] {
                self.committed[p] = self.pos[p];
                self.emit(&consumer(member), Event::Committed { p: p as Partition, o: self.pos[p], err: None });
            }
        }
    }

    fn seek(&mut self, member: usize, n: usize) {
        let member = member % self.members;
        // Never past the last record, so that every partition with records
        // has a processed one.
        let Some(p) = self.owned(member).into_iter().find(|&p| self.pos[p] + (n as Offset) < self.end(p)) else {
            return;
        };
        let from = self.pos[p];
        self.pos[p] += n as Offset;
        self.h.sought += n as u64;
        self.emit(&consumer(member), Event::Seek { p: p as Partition, from, to: self.pos[p] });
    }

    fn rebalance(&mut self, seed: u64) {
        for member in 0..self.members {
            let parts = self.owned(member);
            if !parts.is_empty() {
                self.commit(member);
                let parts = parts.iter().map(|&p| p as Partition).collect();
                self.emit(&consumer(member), Event::Revoked { parts, generation: self.generation });
            }
        }
        self.generation += 1;
        for p in 0..self.parts() {
            self.h.owner[p] = (seed >> (8 * p)) as usize % self.members;
        }
        for member in 0..self.members {
            let parts = self.owned(member);
            let list = parts.iter().map(|&p| p as Partition).collect();
            self.emit(&consumer(member), Event::Assigned { parts: list, generation: self.generation });
            for p in parts {
                let index = self.h.entries.len();
                self.h.resumes.push(Resume { index, member, p, at: self.pos[p], generation: self.generation });
            }
        }
    }

    fn fault(&mut self) {
        self.faults += 1;
        let id = self.faults;
        self.emit(
            "nemesis",
            Event::FaultStart { id, kind: "pause-broker".into(), target: "broker-1".into(), role: None },
        );
        self.emit("nemesis", Event::FaultEnd { id, err: None });
    }

    fn act(&mut self, action: &Action) {
        match *action {
            Action::Produce { producer, p } => self.produce(producer, p),
            Action::Fail { producer } => self.fail(producer),
            Action::Consume { member, n } => self.consume(member, n),
            Action::Commit { member } => self.commit(member),
            Action::Rebalance { seed } => self.rebalance(seed),
            Action::Seek { member, n } => self.seek(member, n),
            Action::Fault => self.fault(),
        }
    }
}

/// Runs the model. Before the random actions, a fixed prologue makes sure
/// every history has three records processed in a row by one member within
/// one assignment (p0@0..2) and a rebalance after them.
fn simulate(
    parts: usize,
    producers: usize,
    members: usize,
    bounded: bool,
    pre: &[(usize, usize)],
    actions: &[Action],
    seed: u64,
) -> History {
    let h = History {
        entries: Vec::new(),
        logs: vec![Vec::new(); parts],
        snapshot: None,
        owner: (0..parts).map(|p| p % members).collect(),
        resumes: Vec::new(),
        end: 0,
        sought: 0,
    };
    let mut sim = Sim {
        h,
        producers,
        members,
        seqs: vec![0; producers],
        pos: vec![0; parts],
        committed: vec![0; parts],
        generation: 1,
        faults: 0,
    };
    for n in 0..producers {
        sim.emit(&producer(n), Event::Started { role: Role::Producer, group: None });
    }
    for m in 0..members {
        sim.emit(&consumer(m), Event::Started { role: Role::Consumer, group: Some(GROUP.into()) });
    }
    for m in 0..members {
        let parts = sim.owned(m).iter().map(|&p| p as Partition).collect();
        sim.emit(&consumer(m), Event::Assigned { parts, generation: 1 });
    }
    for &(producer, p) in pre {
        sim.produce(producer, p);
    }
    for _ in 0..3 {
        sim.produce(0, 0);
    }
    if bounded {
        let snapshot: Vec<Offset> = sim.h.logs.iter().map(|log| log.len() as Offset).collect();
        for (p, &hwm) in snapshot.iter().enumerate() {
            sim.emit("runner", Event::Snapshot { group: GROUP.into(), p: p as Partition, hwm });
        }
        sim.h.snapshot = Some(snapshot);
    }
    sim.consume(sim.h.owner[0], 3);
    sim.rebalance(seed);
    for action in actions {
        sim.act(action);
    }
    for p in 0..parts {
        sim.consume(sim.h.owner[p], usize::MAX);
    }
    sim.h.end = sim.h.entries.len();
    for m in 0..members {
        sim.commit(m);
    }
    for m in 0..members {
        if bounded {
            sim.emit(&consumer(m), Event::Finished);
        }
        sim.emit(&consumer(m), Event::Exited { code: Some(0), signal: None });
    }
    for p in 0..parts {
        for (o, &id) in sim.h.logs[p].clone().iter().enumerate() {
            sim.emit("audit", Event::Audit { p: p as Partition, o: o as Offset, id });
        }
        let o = sim.h.logs[p].len() as Offset;
        sim.emit("audit", Event::Hwm { p: p as Partition, o });
    }
    for p in 0..parts {
        if sim.committed[p] > 0 {
            let o = sim.committed[p];
            sim.emit("audit", Event::GroupOffset { group: GROUP.into(), p: p as Partition, o });
        }
    }
    sim.h
}

fn history(bounded: bool) -> impl Strategy<Value = History> {
    (1..=3usize, 1..=2usize, 1..=3usize, vec((0..2usize, 0..3usize), 0..6), vec(action(), 0..30), any::<u64>())
        .prop_map(move |(parts, producers, members, pre, actions, seed)| {
            simulate(parts, producers, members, bounded, &pre, &actions, seed)
        })
}

// ---- looking into histories ---------------------------------------------------

fn processed_at(entries: &[Entry], p: usize, o: Offset) -> Vec<usize> {
    let p = p as Partition;
    (0..entries.len())
        .filter(|&i| matches!(entries[i].ev, Event::Processed { p: q, o: r, .. } if q == p && r == o))
        .collect()
}

fn is_processed(entries: &[Entry], p: usize, o: Offset) -> bool {
    !processed_at(entries, p, o).is_empty()
}

/// Whether `e` changes what `src` owns of `p` (ends or starts a run).
fn touches_run(e: &Entry, src: &str, p: Partition) -> bool {
    e.src == src
        && match &e.ev {
            Event::Assigned { parts, .. } | Event::Revoked { parts, .. } | Event::Lost { parts, .. } => {
                parts.contains(&p)
            }
            Event::Seek { p: q, .. } => *q == p,
            Event::Started { .. } | Event::Exited { .. } => true,
            _ => false,
        }
}

/// Runs of `len` processings in a row of consecutive offsets by one member
/// within one assignment: the indices of their entries.
fn in_a_row(entries: &[Entry], len: usize) -> Vec<Vec<usize>> {
    let mut found = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let Event::Processed { p, o, .. } = e.ev else { continue };
        let mut run = vec![i];
        let mut want = o + 1;
        for (j, f) in entries.iter().enumerate().skip(i + 1) {
            if run.len() == len || touches_run(f, &e.src, p) {
                break;
            }
            match f.ev {
                Event::Processed { p: q, o: r, .. } if f.src == e.src && q == p => {
                    if r != want {
                        break;
                    }
                    run.push(j);
                    want += 1;
                }
                _ => {}
            }
        }
        if run.len() == len {
            found.push(run);
        }
    }
    found
}

fn record(e: &Entry) -> (Partition, Offset, RecordId) {
    match e.ev {
        Event::Processed { p, o, id } => (p, o, id),
        _ => unreachable!("not a processed entry: {e:?}"),
    }
}

fn entry(src: &str, ev: Event) -> Entry {
    Entry { t: 0, src: src.to_owned(), ev }
}

fn first_audit(entries: &[Entry]) -> usize {
    entries.iter().position(|e| e.src == "audit").unwrap_or(entries.len())
}

// ---- judging verdicts ---------------------------------------------------------

/// Every class has the count given, or 0.
fn assert_counts(v: &Verdict, want: &[(Class, u64)]) -> Result<(), TestCaseError> {
    for class in Class::ALL {
        let n = want.iter().find(|(c, _)| *c == class).map_or(0, |&(_, n)| n);
        prop_assert_eq!(v.counts[&class], n, "{} in {:#?}", class.name(), v.findings);
    }
    Ok(())
}

/// Some finding of `class` names (p, o).
fn assert_names(v: &Verdict, class: Class, p: Partition, o: Offset) -> Result<(), TestCaseError> {
    let named = v.findings[&class].iter().any(|f| f.records.iter().any(|r| r.p == p && r.o == o));
    prop_assert!(named, "no {} finding names p{}@{}: {:#?}", class.name(), p, o, v.findings[&class]);
    Ok(())
}

/// The timeline counts what the verdict counts: its redelivered series sums
/// to the redelivery count, each group's lag ends at the records acked less
/// those the group processed once, and every series spans the same buckets.
fn assert_timeline(v: &Verdict) -> Result<(), TestCaseError> {
    let tl = &v.timeline;
    prop_assert_eq!(tl.redelivered.iter().sum::<u64>(), v.counts[&Class::Redelivery]);
    prop_assert_eq!(tl.processed.iter().sum::<u64>(), v.totals.processed);
    prop_assert_eq!(tl.acked.iter().sum::<u64>(), v.totals.acked);
    let len = usize::try_from(tl.end / tl.width + 1).unwrap_or(usize::MAX);
    prop_assert!(len <= MAX_BUCKETS as usize, "{} buckets", len);
    let lags = tl.lag.iter().map(|l| &l.values);
    for series in [&tl.acked, &tl.processed, &tl.redelivered].into_iter().chain(lags) {
        prop_assert_eq!(series.len(), len);
    }
    for lag in &tl.lag {
        let group = v.groups.iter().find(|g| g.group == lag.group);
        let unique = group.map_or(0, |g| g.processed - g.redelivered);
        prop_assert_eq!(lag.values.last().copied(), Some(v.totals.acked.saturating_sub(unique)), "{}", lag.group);
    }
    Ok(())
}

// ---- clean histories ------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn clean_history_is_clean(h in history(false)) {
        let v = check(h.entries.clone());
        assert_counts(&v, &[])?;
        prop_assert!(v.audited);
        prop_assert_eq!(v.skipped_by_seek, h.sought);
        prop_assert_eq!(v.totals.processed, v.totals.processed_unique);
        prop_assert!(v.redelivery_causes.is_empty());
        assert_timeline(&v)?;
    }

    #[test]
    fn clean_bounded_history_is_clean(h in history(true)) {
        let v = check(h.entries.clone());
        assert_counts(&v, &[])?;
        prop_assert!(v.groups.iter().all(|g| g.bounded));
    }

    #[test]
    fn clean_history_without_audit_is_clean(h in history(false)) {
        let audit = first_audit(&h.entries);
        let v = check(h.entries[..audit].to_vec());
        assert_counts(&v, &[])?;
        prop_assert!(!v.audited);
    }
}

// ---- planted anomalies ------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// An acked record missing from the log (and so never consumed).
    #[test]
    fn lost_write(h in history(false), pick: Index) {
        let records: Vec<(usize, Offset)> = h.logs.iter().enumerate()
            .flat_map(|(p, log)| (0..log.len() as Offset).map(move |o| (p, o))).collect();
        let (p, o) = *pick.get(&records);
        let mut entries = h.entries.clone();
        entries.retain(|e| !matches!(e.ev,
            Event::Audit { p: q, o: r, .. } | Event::Processed { p: q, o: r, .. } if q == p as Partition && r == o));
        let v = check(entries);
        assert_counts(&v, &[(Class::LostWrite, 1)])?;
        assert_names(&v, Class::LostWrite, p as Partition, o)?;
    }

    /// A record the log holds twice (a producer retry); the group processes
    /// both copies.
    #[test]
    fn duplicate_write(h in history(false), pick: Index) {
        let records: Vec<(usize, RecordId)> = h.logs.iter().enumerate()
            .flat_map(|(p, log)| log.iter().map(move |&id| (p, id))).collect();
        let (p, id) = *pick.get(&records);
        let copy = h.logs[p].len() as Offset;
        let part = p as Partition;
        let mut entries = h.entries.clone();
        for e in &mut entries {
            if let Event::Hwm { p: q, o } = &mut e.ev {
                if *q == part {
                    *o += 1;
                }
            }
        }
        entries.push(entry("audit", Event::Audit { p: part, o: copy, id }));
        entries.insert(h.end, entry(&consumer(h.owner[p]), Event::Processed { p: part, o: copy, id }));
        let v = check(entries);
        assert_counts(&v, &[(Class::DuplicateWrite, 1)])?;
        assert_names(&v, Class::DuplicateWrite, part, copy)?;
    }

    /// The last k processed records of a partition never processed, and no
    /// commit past them.
    #[test]
    fn lost_delivery(h in history(false), pick: Index, k in 1..=3usize) {
        let parts: Vec<usize> = (0..h.logs.len())
            .filter(|&p| (0..h.logs[p].len() as Offset).any(|o| is_processed(&h.entries, p, o))).collect();
        let p = *pick.get(&parts);
        let part = p as Partition;
        let processed: Vec<Offset> =
            (0..h.logs[p].len() as Offset).filter(|&o| is_processed(&h.entries, p, o)).collect();
        let lost = &processed[processed.len().saturating_sub(k)..];
        let first = lost[0];
        let mut entries = h.entries.clone();
        entries.retain(|e| match e.ev {
            Event::Processed { p: q, o, .. } => q != part || !lost.contains(&o),
            Event::Committed { p: q, o, .. } | Event::GroupOffset { p: q, o, .. } => q != part || o <= first,
            _ => true,
        });
        let committed = entries.iter().filter_map(|e| match e.ev {
            Event::Committed { p: q, o, .. } if q == part => Some(o),
            _ => None,
        }).max();
        if let Some(o) = committed {
            entries.push(entry("audit", Event::GroupOffset { group: GROUP.into(), p: part, o }));
        }
        let v = check(entries);
        assert_counts(&v, &[(Class::LostDelivery, lost.len() as u64)])?;
        for &o in lost.iter().take(5) {
            assert_names(&v, Class::LostDelivery, part, o)?;
        }
    }

    /// A commit of o+1 just before o is processed.
    #[test]
    fn premature_commit(h in history(false), pick: Index) {
        let processed: Vec<usize> = (0..h.entries.len())
            .filter(|&i| matches!(h.entries[i].ev, Event::Processed { .. })).collect();
        let i = *pick.get(&processed);
        let (p, o, _) = record(&h.entries[i]);
        let mut entries = h.entries.clone();
        let src = entries[i].src.clone();
        entries.insert(i, entry(&src, Event::Committed { p, o: o + 1, err: None }));
        let v = check(entries);
        assert_counts(&v, &[(Class::PrematureCommit, 1)])?;
        assert_names(&v, Class::PrematureCommit, p, o)?;
    }

    /// A member commits lower than it just did.
    #[test]
    fn commit_regression(h in history(false), pick: Index, back: Index) {
        let commits: Vec<usize> = (0..h.entries.len())
            .filter(|&i| matches!(h.entries[i].ev, Event::Committed { o, .. } if o >= 1)).collect();
        let i = *pick.get(&commits);
        let Event::Committed { p, o, .. } = h.entries[i].ev else { unreachable!() };
        let lower = o - 1 - back.index(o as usize) as Offset;
        let mut entries = h.entries.clone();
        let src = entries[i].src.clone();
        entries.insert(i + 1, entry(&src, Event::Committed { p, o: lower, err: None }));
        let v = check(entries);
        assert_counts(&v, &[(Class::CommitRegression, 1)])?;
        assert_names(&v, Class::CommitRegression, p, lower)?;
    }

    /// After a rebalance, the new owner starts k records before where the
    /// group had got to.
    #[test]
    fn redelivery(h in history(false), pick: Index, k in 1..=3usize) {
        let resumes: Vec<&Resume> =
            h.resumes.iter().filter(|r| r.at >= 1 && is_processed(&h.entries, r.p, r.at - 1)).collect();
        let r = *pick.get(&resumes);
        let back: Vec<Offset> = (0..r.at).rev().take_while(|&o| is_processed(&h.entries, r.p, o)).take(k).collect();
        prop_assert!(!back.is_empty(), "the prologue processes p0@2 before its rebalance");
        let mut entries = h.entries.clone();
        for &o in &back {
            let id = h.logs[r.p][o as usize];
            entries.insert(r.index, entry(&consumer(r.member), Event::Processed { p: r.p as Partition, o, id }));
        }
        let v = check(entries);
        assert_counts(&v, &[(Class::Redelivery, back.len() as u64)])?;
        let first = *back.last().unwrap_or(&0);
        assert_names(&v, Class::Redelivery, r.p as Partition, first)?;
        prop_assert_eq!(v.redelivery_causes.iter().map(|c| c.count).sum::<u64>(), back.len() as u64);
        prop_assert!(v.redelivery_causes.iter().all(|c| c.generation == Some(r.generation)),
            "{:?}", v.redelivery_causes);
        assert_timeline(&v)?;
        prop_assert_eq!(v.timeline.redelivered.iter().sum::<u64>(), back.len() as u64);
    }

    /// A member processes o-1 then o+1 within one assignment. Implies one
    /// lost-delivery (nobody processes o) and one premature-commit (the first
    /// commit past o).
    #[test]
    fn skip(h in history(false), pick: Index) {
        let runs = in_a_row(&h.entries, 3);
        let run = pick.get(&runs);
        let (p, o, _) = record(&h.entries[run[1]]);
        let mut entries = h.entries.clone();
        entries.remove(run[1]);
        let v = check(entries);
        assert_counts(&v, &[(Class::Skip, 1), (Class::LostDelivery, 1), (Class::PrematureCommit, 1)])?;
        assert_names(&v, Class::Skip, p, o)?;
        assert_names(&v, Class::LostDelivery, p, o)?;
    }

    /// A member processes o again, or o-1, right after o. Implies one
    /// redelivery.
    #[test]
    fn nonmonotonic(h in history(false), pick: Index, same: bool) {
        let runs = in_a_row(&h.entries, 2);
        let run = pick.get(&runs);
        let (p, o, id) = record(&h.entries[if same { run[1] } else { run[0] }]);
        let mut entries = h.entries.clone();
        let src = entries[run[1]].src.clone();
        entries.insert(run[1] + 1, entry(&src, Event::Processed { p, o, id }));
        let v = check(entries);
        assert_counts(&v, &[(Class::Nonmonotonic, 1), (Class::Redelivery, 1)])?;
        assert_names(&v, Class::Nonmonotonic, p, o)?;
    }

    /// A processed record the log does not hold: another id at its offset,
    /// or an offset past the end of the log.
    #[test]
    fn phantom(h in history(false), pick: Index, past_end: bool) {
        let fake = RecordId { producer: 7, seq: 1_000_000 };
        let mut entries = h.entries.clone();
        let (p, o) = if past_end {
            let p = pick.index(h.logs.len());
            let o = h.logs[p].len() as Offset;
            let ev = Event::Processed { p: p as Partition, o, id: fake };
            entries.insert(h.end, entry(&consumer(h.owner[p]), ev));
            (p as Partition, o)
        } else {
            let processed: Vec<usize> = (0..entries.len())
                .filter(|&i| matches!(entries[i].ev, Event::Processed { .. })).collect();
            let i = *pick.get(&processed);
            let (p, o, _) = record(&entries[i]);
            entries[i].ev = Event::Processed { p, o, id: fake };
            (p, o)
        };
        let v = check(entries);
        assert_counts(&v, &[(Class::Phantom, 1)])?;
        assert_names(&v, Class::Phantom, p, o)?;
    }

    /// A bounded group processes k records at and past its snapshot.
    #[test]
    fn overrun(h in history(true), pick: Index, k in 1..=3usize) {
        let snapshot = h.snapshot.clone().unwrap_or_default();
        let p = pick.index(h.logs.len());
        let mut entries = h.entries.clone();
        // Make room past the snapshot if the history left too little.
        let mut log = h.logs[p].clone();
        let need = snapshot[p] + k as Offset;
        if (log.len() as Offset) < need {
            while (log.len() as Offset) < need {
                let id = RecordId { producer: 9, seq: log.len() as u64 };
                entries.push(entry("audit", Event::Audit { p: p as Partition, o: log.len() as Offset, id }));
                log.push(id);
            }
            for e in &mut entries {
                if let Event::Hwm { p: q, o } = &mut e.ev {
                    if *q == p as Partition {
                        *o = need;
                    }
                }
            }
        }
        let from = snapshot[p];
        for (n, o) in (from..from + k as Offset).enumerate() {
            let ev = Event::Processed { p: p as Partition, o, id: log[o as usize] };
            entries.insert(h.end + n, entry(&consumer(h.owner[p]), ev));
        }
        let v = check(entries);
        assert_counts(&v, &[(Class::Overrun, k as u64)])?;
        assert_names(&v, Class::Overrun, p as Partition, from)?;
    }
}

// ---- any ledger at all ----------------------------------------------------------

fn offset() -> impl Strategy<Value = Offset> {
    prop_oneof![8 => -2..12i64, 1 => any::<i64>(), 1 => Just(i64::MAX), 1 => Just(i64::MIN)]
}

fn partition() -> impl Strategy<Value = Partition> {
    prop_oneof![8 => 0..3i32, 1 => any::<i32>()]
}

fn id() -> impl Strategy<Value = RecordId> {
    (prop_oneof![4 => 0..2u32, 1 => any::<u32>()], prop_oneof![4 => 0..12u64, 1 => any::<u64>()])
        .prop_map(|(producer, seq)| RecordId { producer, seq })
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![Just("c0".to_owned()), Just("c1".to_owned()), Just("g".to_owned()), Just("audit".to_owned())]
}

fn parts() -> impl Strategy<Value = Vec<Partition>> {
    vec(partition(), 0..3)
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (any::<bool>(), proptest::option::of(name()))
            .prop_map(|(c, group)| Event::Started { role: if c { Role::Consumer } else { Role::Producer }, group }),
        Just(Event::Finished),
        Just(Event::Exited { code: None, signal: Some(9) }),
        Just(Event::ClientError { msg: "x".into() }),
        id().prop_map(|id| Event::Sent { id, key: None }),
        (id(), partition(), offset()).prop_map(|(id, p, o)| Event::Acked { id, p, o }),
        id().prop_map(|id| Event::Failed { id, msg: "x".into() }),
        (parts(), any::<i32>()).prop_map(|(parts, generation)| Event::Assigned { parts, generation }),
        (parts(), any::<i32>()).prop_map(|(parts, generation)| Event::Revoked { parts, generation }),
        (parts(), any::<i32>()).prop_map(|(parts, generation)| Event::Lost { parts, generation }),
        (partition(), offset(), id()).prop_map(|(p, o, id)| Event::Processed { p, o, id }),
        (partition(), offset(), any::<bool>()).prop_map(|(p, o, e)| Event::Committed {
            p,
            o,
            err: e.then(|| "x".into())
        }),
        parts().prop_map(|parts| Event::FetchPaused { parts }),
        (partition(), offset(), offset()).prop_map(|(p, from, to)| Event::Seek { p, from, to }),
        (name(), partition(), offset()).prop_map(|(group, p, hwm)| Event::Snapshot { group, p, hwm }),
        any::<u32>().prop_map(|id| Event::FaultStart { id, kind: "k".into(), target: "t".into(), role: None }),
        any::<u32>().prop_map(|id| Event::FaultEnd { id, err: None }),
        name().prop_map(|group| Event::DrainTimeout { group }),
        (partition(), offset(), id()).prop_map(|(p, o, id)| Event::Audit { p, o, id }),
        (partition(), offset()).prop_map(|(p, o)| Event::Hwm { p, o }),
        (name(), partition(), offset()).prop_map(|(group, p, o)| Event::GroupOffset { group, p, o }),
        Just(Event::Phase { name: "audit".into() }),
        Just(Event::AuditEnd),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Any sequence of events gets a verdict, without panicking, and one that
    /// survives verdict.json, with a timeline that counts what it counts.
    #[test]
    fn any_ledger_gets_a_verdict(events in vec((any::<u64>(), name(), event()), 0..60)) {
        let entries: Vec<Entry> = events.into_iter().map(|(t, src, ev)| Entry { t, src, ev }).collect();
        let v = check(entries);
        prop_assert_eq!(v.counts.len(), Class::ALL.len());
        prop_assert!(v.findings.values().all(|f| f.len() <= 10 && f.iter().all(|f| f.records.len() <= 5)));
        let json = serde_json::to_string(&v).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: Verdict = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back.counts, &v.counts);
        prop_assert_eq!(&back.timeline.redelivered, &v.timeline.redelivered);
        assert_timeline(&v)?;
    }
}

// ---- plain cases ------------------------------------------------------------------

/// A small hand-written ledger.
struct Script(Vec<Entry>);

impl Script {
    fn new() -> Self {
        Script(Vec::new())
    }

    fn add(&mut self, src: &str, ev: Event) -> &mut Self {
        let t = self.0.len() as u64 * 10;
        self.0.push(Entry { t, src: src.to_owned(), ev });
        self
    }

    fn produce(&mut self, n: u64) -> &mut Self {
        for seq in 0..n {
            let id = RecordId { producer: 0, seq };
            self.add("producer-0", Event::Sent { id, key: None });
            self.add("producer-0", Event::Acked { id, p: 0, o: seq as Offset });
        }
        self
    }

    fn process(&mut self, src: &str, offsets: std::ops::Range<Offset>) -> &mut Self {
        for o in offsets {
            self.add(src, Event::Processed { p: 0, o, id: RecordId { producer: 0, seq: o as u64 } });
        }
        self
    }

    fn audit(&mut self, n: Offset, committed: Offset) -> &mut Self {
        for o in 0..n {
            self.add("audit", Event::Audit { p: 0, o, id: RecordId { producer: 0, seq: o as u64 } });
        }
        self.add("audit", Event::Hwm { p: 0, o: n });
        self.add("audit", Event::GroupOffset { group: GROUP.into(), p: 0, o: committed })
    }

    fn consumers(&mut self, n: usize) -> &mut Self {
        for m in 0..n {
            self.add(&consumer(m), Event::Started { role: Role::Consumer, group: Some(GROUP.into()) });
        }
        self
    }
}

fn count(v: &Verdict, class: Class) -> u64 {
    v.counts[&class]
}

fn names(v: &Verdict, class: Class, o: Offset) -> bool {
    v.findings[&class].iter().any(|f| f.records.iter().any(|r| r.p == 0 && r.o == o))
}

/// Auto commit with auto offset store (confluent-kafka-go issue 1322): the
/// offset of record 2 is stored when it is handed over, a background commit
/// sends 3, the consumer is killed while processing 2, and the next owner
/// resumes at 3. Record 2 is lost, and a commit ran past it — whether the
/// killed consumer got to report its commit or only the broker's final offset
/// shows it.
#[test]
fn auto_store_crash_is_a_premature_commit_and_a_loss() {
    for reported in [true, false] {
        let mut s = Script::new();
        s.consumers(2).produce(5);
        s.add("consumer-0", Event::Assigned { parts: vec![0], generation: 1 });
        s.add("consumer-1", Event::Assigned { parts: vec![], generation: 1 });
        s.process("consumer-0", 0..2);
        if reported {
            s.add("consumer-0", Event::Committed { p: 0, o: 3, err: None });
        }
        s.add("consumer-0", Event::Exited { code: None, signal: Some(9) });
        s.add("consumer-1", Event::Assigned { parts: vec![0], generation: 2 });
        s.process("consumer-1", 3..5);
        s.add("consumer-1", Event::Committed { p: 0, o: 5, err: None });
        s.audit(5, 5);
        let v = check(s.0.clone());
        assert_eq!(count(&v, Class::PrematureCommit), 1, "{:#?}", v.findings);
        assert_eq!(count(&v, Class::LostDelivery), 1);
        assert!(names(&v, Class::PrematureCommit, 2) && names(&v, Class::LostDelivery, 2));
        let others = Class::ALL.into_iter().filter(|c| ![Class::PrematureCommit, Class::LostDelivery].contains(c));
        assert!(others.into_iter().all(|c| count(&v, c) == 0), "{:#?}", v.counts);
        let premature = &v.findings[&Class::PrematureCommit][0];
        let by = if reported { "consumer-0" } else { "consumer-1" };
        assert_eq!(premature.src.as_deref(), Some(by), "{premature:#?}");
    }
}

/// Skipping by seek is on purpose: no loss, no skip, no premature commit;
/// counted and shown apart.
#[test]
fn seek_skips_on_purpose() {
    let mut s = Script::new();
    s.consumers(1).produce(7);
    s.add("consumer-0", Event::Assigned { parts: vec![0], generation: 1 });
    s.process("consumer-0", 0..2);
    s.add("consumer-0", Event::Seek { p: 0, from: 2, to: 5 });
    s.process("consumer-0", 5..7);
    s.add("consumer-0", Event::Committed { p: 0, o: 7, err: None });
    s.audit(7, 7);
    let v = check(s.0.clone());
    assert!(Class::ALL.iter().all(|&c| count(&v, c) == 0), "{:#?}", v.findings);
    assert_eq!(v.skipped_by_seek, 3);
    let seek = &v.seek_findings[0];
    assert_eq!(seek.records.iter().map(|r| r.o).collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!(seek.src.as_deref(), Some("consumer-0"));
}

/// A commit past records before the seek that skips them is still premature.
#[test]
fn commit_before_the_seek_is_premature() {
    let mut s = Script::new();
    s.consumers(1).produce(7);
    s.add("consumer-0", Event::Assigned { parts: vec![0], generation: 1 });
    s.process("consumer-0", 0..2);
    s.add("consumer-0", Event::Committed { p: 0, o: 5, err: None });
    s.add("consumer-0", Event::Seek { p: 0, from: 2, to: 5 });
    s.process("consumer-0", 5..7);
    s.audit(7, 7);
    let v = check(s.0.clone());
    assert_eq!(count(&v, Class::PrematureCommit), 1, "{:#?}", v.findings);
    assert_eq!(count(&v, Class::LostDelivery), 0);
    assert!(names(&v, Class::PrematureCommit, 2));
}

/// Without an audit, the classes that need it are not judged, the verdict
/// says so, and a commit past unprocessed acked records is still premature.
#[test]
fn without_audit() {
    let mut s = Script::new();
    s.consumers(1).produce(5);
    s.add("consumer-0", Event::Assigned { parts: vec![0], generation: 1 });
    s.process("consumer-0", 0..2);
    s.add("consumer-0", Event::Committed { p: 0, o: 4, err: None });
    let v = check(s.0.clone());
    assert!(!v.audited);
    assert_eq!(count(&v, Class::PrematureCommit), 1);
    assert_eq!(count(&v, Class::LostDelivery), 0);
    assert!(names(&v, Class::PrematureCommit, 2) && names(&v, Class::PrematureCommit, 3));
}

/// The runner marks the audit's beginning and end. Between the marks a
/// ledger may end among the group offsets, where nothing else could tell:
/// without the end mark the read counts as unfinished; a ledger with no
/// marks (written by hand) is judged by what it names.
#[test]
fn the_audit_marks_tell_a_whole_final_read_from_one_cut_among_the_offsets() {
    let mut s = Script::new();
    s.consumers(1).produce(3);
    s.add("consumer-0", Event::Assigned { parts: vec![0], generation: 1 });
    s.process("consumer-0", 0..3);
    let unmarked = {
        let mut s = Script(s.0.clone());
        s.audit(3, 3);
        check(s.0)
    };
    assert!(unmarked.audited && !unmarked.audit_unfinished);
    s.add("runner", Event::Phase { name: "audit".into() });
    s.audit(3, 3);
    let cut = check(s.0.clone());
    assert!(cut.audited && cut.audit_unfinished, "records and watermarks whole, the end mark missing");
    s.add("audit", Event::AuditEnd);
    let whole = check(s.0);
    assert!(whole.audited && !whole.audit_unfinished);
}

/// Redeliveries are blamed on the fault and the rebalance that followed it.
#[test]
fn redelivery_is_attributed() {
    let mut s = Script::new();
    s.consumers(2).produce(4);
    s.add("consumer-0", Event::Assigned { parts: vec![0], generation: 1 });
    s.process("consumer-0", 0..3);
    s.add("consumer-0", Event::Committed { p: 0, o: 1, err: None });
    s.add("nemesis", Event::FaultStart { id: 1, kind: "restart-broker".into(), target: "broker-1".into(), role: None });
    s.add("consumer-0", Event::Lost { parts: vec![0], generation: 1 });
    s.add("consumer-1", Event::Assigned { parts: vec![0], generation: 3 });
    s.process("consumer-1", 1..4);
    s.add("consumer-1", Event::Committed { p: 0, o: 4, err: None });
    s.audit(4, 4);
    let v = check(s.0.clone());
    assert_eq!(count(&v, Class::Redelivery), 2);
    assert_eq!(v.redelivery_causes.len(), 1);
    let cause = &v.redelivery_causes[0];
    assert_eq!(cause.cause, "fault #1 restart-broker broker-1 (then generation 3)");
    assert_eq!((cause.fault, cause.generation, cause.count), (Some(1), Some(3), 2));
    assert_eq!(v.groups[0].redelivered, 2);
    assert_eq!(v.totals.processed_unique, 4);
}

/// Every processing of a record the log does not hold is a phantom.
#[test]
fn phantom_processed_twice_counts_twice() {
    let mut s = Script::new();
    s.consumers(2).produce(2);
    s.add("consumer-0", Event::Assigned { parts: vec![0], generation: 1 });
    s.process("consumer-0", 0..3);
    s.add("consumer-0", Event::Revoked { parts: vec![0], generation: 1 });
    s.add("consumer-1", Event::Assigned { parts: vec![0], generation: 2 });
    s.process("consumer-1", 2..3);
    s.audit(2, 2);
    let v = check(s.0.clone());
    assert_eq!(count(&v, Class::Phantom), 2, "{:#?}", v.findings);
    assert_eq!(count(&v, Class::Redelivery), 1);
    assert!(names(&v, Class::Phantom, 2));
}

/// A consumer that never said which group it is in is a group of its own.
#[test]
fn consumer_without_group_is_its_own_group() {
    let mut s = Script::new();
    s.produce(2);
    s.add("loner", Event::Started { role: Role::Consumer, group: None });
    s.add("stranger", Event::Processed { p: 0, o: 0, id: RecordId { producer: 0, seq: 0 } });
    s.add("loner", Event::Processed { p: 0, o: 0, id: RecordId { producer: 0, seq: 0 } });
    let v = check(s.0.clone());
    let groups: Vec<(&str, &[String])> = v.groups.iter().map(|g| (g.group.as_str(), g.members.as_slice())).collect();
    assert_eq!(groups, [("loner", &["loner".to_owned()][..]), ("stranger", &["stranger".to_owned()][..])]);
    assert_eq!(count(&v, Class::Redelivery), 0);
}

#[test]
fn class_names_round_trip() {
    for class in Class::ALL {
        assert_eq!(Class::from_name(class.name()), Some(class));
        assert_eq!(serde_json::to_string(&class).ok(), Some(format!("\"{}\"", class.name())));
    }
    assert_eq!(Class::from_name("lost"), None);
}
