//! The checker on a ledger of about 10 million entries: 4 producers, 12
//! partitions, 2.5 million records (sent, acked, processed and audited once
//! each), a group of 3 consumers committing every 100 records, and a few
//! rebalances and broker restarts that cause about 1% redeliveries.
//!
//! Measures, each with its peak RSS (VmHWM, reset in between):
//! (a) reading the JSON-lines file with `ledger::read` (parsing spread over
//!     the cores) and checking it as a stream, as `faultline check` does;
//!     the read alone; (a1) the same with a one-thread parse, the baseline,
//!     and JSON syntax alone on one thread, to show where (a1) goes;
//! (b) `check` alone on the entries already in memory.
//!
//! Run with `cargo bench --bench checker`.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Instant;

use serde::de::IgnoredAny;

use faultline::checker::{check, Class, Verdict};
use faultline::ledger::{self, Entry, Event, LedgerWriter, Offset, Partition, RecordId, Role};

/// The allocator of the `faultline` binary, so the figures are its figures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PRODUCERS: usize = 4;
const PARTITIONS: usize = 12;
const MEMBERS: usize = 3;
const RECORDS: u64 = 2_500_000;
const BATCH: usize = 50;
const COMMIT_EVERY: u32 = 100;
/// A rebalance every so many records; every other one is a broker restart.
const REBALANCE_EVERY: u64 = 400_000;
/// Records produced while the broker restarts: commits fail meanwhile.
const RESTART_RECORDS: u64 = 8_000;
const GROUP: &str = "bench";

/// splitmix64: deterministic, and no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A run of the workload, emitted entry by entry.
struct Run<F: FnMut(Entry)> {
    emit: F,
    t: u64,
    rng: Rng,
    logs: Vec<Vec<RecordId>>,
    owner: Vec<usize>,
    pos: Vec<Offset>,
    committed: Vec<Offset>,
    since_commit: Vec<u32>,
    generation: i32,
    faults: u32,
    /// While the broker restarts: until how many records are produced.
    restarting: Option<u64>,
}

impl<F: FnMut(Entry)> Run<F> {
    fn new(emit: F) -> Self {
        Run {
            emit,
            t: 0,
            rng: Rng(7),
            logs: vec![Vec::new(); PARTITIONS],
            owner: (0..PARTITIONS).map(|p| p % MEMBERS).collect(),
            pos: vec![0; PARTITIONS],
            committed: vec![0; PARTITIONS],
            since_commit: vec![0; MEMBERS],
            generation: 1,
            faults: 0,
            restarting: None,
        }
    }

    fn put(&mut self, src: &str, ev: Event) {
        (self.emit)(Entry { t: self.t, src: src.to_owned(), ev });
    }

    fn owned(&self, m: usize) -> Vec<Partition> {
        (0..PARTITIONS).filter(|&p| self.owner[p] == m).map(|p| p as Partition).collect()
    }

    fn produce(&mut self, producer: usize, seq: &mut u64) {
        let src = format!("producer-{producer}");
        let batch: Vec<(RecordId, usize)> = (0..BATCH)
            .map(|_| {
                let id = RecordId { producer: producer as u32, seq: *seq };
                *seq += 1;
                (id, self.rng.below(PARTITIONS))
            })
            .collect();
        for &(id, _) in &batch {
            self.put(&src, Event::Sent { id, key: None });
        }
        for (id, p) in batch {
            let o = self.logs[p].len() as Offset;
            self.logs[p].push(id);
            self.put(&src, Event::Acked { id, p: p as Partition, o });
        }
    }

    /// Commits the member's positions; they fail while the broker restarts.
    fn commit(&mut self, m: usize) {
        for p in self.owned(m) {
            let o = self.pos[p as usize];
            if o <= self.committed[p as usize] {
                continue;
            }
            let err = self.restarting.map(|_| "coordinator unavailable: connection refused".to_owned());
            if err.is_none() {
                self.committed[p as usize] = o;
            }
            self.put(&format!("consumer-{m}"), Event::Committed { p, o, err });
        }
        self.since_commit[m] = 0;
    }

    fn consume(&mut self) {
        for m in 0..MEMBERS {
            let src = format!("consumer-{m}");
            for p in self.owned(m) {
                let i = p as usize;
                while (self.pos[i] as usize) < self.logs[i].len() {
                    let o = self.pos[i];
                    let id = self.logs[i][o as usize];
                    self.put(&src, Event::Processed { p, o, id });
                    self.pos[i] += 1;
                    self.since_commit[m] += 1;
                    if self.since_commit[m] >= COMMIT_EVERY {
                        self.commit(m);
                    }
                }
            }
        }
    }

    /// A broker restart: members see errors and their commits fail until it
    /// is over (`settle`).
    fn restart(&mut self, until: u64) {
        self.faults += 1;
        let id = self.faults;
        self.put(
            "nemesis",
            Event::FaultStart { id, kind: "restart-broker".into(), target: "broker-1".into(), role: None },
        );
        for m in 0..MEMBERS {
            let msg = "unable to join group session: connection refused".into();
            self.put(&format!("consumer-{m}"), Event::ClientError { msg });
        }
        self.restarting = Some(until);
    }

    /// After a restart, members lose their partitions without a clean revoke,
    /// and the new owners go back to the last commit that got through.
    fn settle(&mut self) {
        self.restarting = None;
        for m in 0..MEMBERS {
            let (parts, generation) = (self.owned(m), self.generation);
            self.put(&format!("consumer-{m}"), Event::Lost { parts, generation });
        }
        self.reassign();
        self.put("nemesis", Event::FaultEnd { id: self.faults, err: None });
    }

    /// A rebalance in good order: members commit, revoke, and are assigned.
    fn rebalance(&mut self) {
        for m in 0..MEMBERS {
            self.commit(m);
            let (parts, generation) = (self.owned(m), self.generation);
            self.put(&format!("consumer-{m}"), Event::Revoked { parts, generation });
        }
        self.reassign();
    }

    fn reassign(&mut self) {
        self.generation += 1;
        for p in 0..PARTITIONS {
            self.owner[p] = self.rng.below(MEMBERS);
            self.pos[p] = self.committed[p];
        }
        for m in 0..MEMBERS {
            let parts = self.owned(m);
            self.put(&format!("consumer-{m}"), Event::Assigned { parts, generation: self.generation });
        }
    }

    fn run(mut self) {
        for n in 0..PRODUCERS {
            self.put(&format!("producer-{n}"), Event::Started { role: Role::Producer, group: None });
        }
        for m in 0..MEMBERS {
            let group = Some(GROUP.to_owned());
            self.put(&format!("consumer-{m}"), Event::Started { role: Role::Consumer, group });
        }
        for m in 0..MEMBERS {
            let parts = self.owned(m);
            self.put(&format!("consumer-{m}"), Event::Assigned { parts, generation: 1 });
        }
        let mut seqs = [0u64; PRODUCERS];
        let mut produced = 0;
        while produced < RECORDS {
            for (producer, seq) in seqs.iter_mut().enumerate() {
                self.produce(producer, seq);
            }
            produced += (PRODUCERS * BATCH) as u64;
            self.consume();
            if self.restarting.is_some_and(|until| produced >= until) {
                self.settle();
            }
            if produced % REBALANCE_EVERY == 0 {
                if (produced / REBALANCE_EVERY).is_multiple_of(2) {
                    self.restart(produced + RESTART_RECORDS);
                } else {
                    self.rebalance();
                }
            }
            self.t += 1;
        }
        for m in 0..MEMBERS {
            self.commit(m);
            self.put(&format!("consumer-{m}"), Event::Exited { code: Some(0), signal: None });
        }
        for p in 0..PARTITIONS {
            for o in 0..self.logs[p].len() {
                let id = self.logs[p][o];
                self.put("audit", Event::Audit { p: p as Partition, o: o as Offset, id });
            }
            let o = self.logs[p].len() as Offset;
            self.put("audit", Event::Hwm { p: p as Partition, o });
        }
        for p in 0..PARTITIONS {
            let o = self.committed[p];
            self.put("audit", Event::GroupOffset { group: GROUP.into(), p: p as Partition, o });
        }
    }
}

/// Peak resident memory of this process, in MB.
fn peak_rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    kb / 1024
}

/// CPU time of this process so far (user + system), in seconds: unlike wall
/// time, not inflated when other processes share the machine.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses: utime and
    // stime are the 12th and 13th, in clock ticks of 1/100 s.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// Starts a new peak-RSS measurement (Linux: "5" resets VmHWM).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn summary(v: &Verdict) -> String {
    let counts: Vec<String> =
        Class::ALL.iter().filter(|c| v.counts[c] > 0).map(|c| format!("{}={}", c.name(), v.counts[c])).collect();
    format!(
        "processed={} unique={} audited={} rebalances={} faults={} [{}]",
        v.totals.processed,
        v.totals.processed_unique,
        v.totals.audited,
        v.totals.rebalances,
        v.totals.faults,
        counts.join(" ")
    )
}

/// The one-thread reading `ledger::read` replaced, kept as the baseline:
/// a line at a time, parsed where it is read.
fn read_on_one_thread(path: &Path) -> impl Iterator<Item = Entry> {
    let lines = BufReader::with_capacity(1 << 20, File::open(path).expect("ledger opens")).split(b'\n');
    lines.map(|line| serde_json::from_slice(&line.expect("ledger reads")).expect("ledger line parses"))
}

/// Runs `f` from a fresh peak-RSS mark; prints its wall time, CPU time and
/// peak RSS.
fn measure<T>(label: &str, f: impl FnOnce() -> T) -> T {
    reset_peak_rss();
    let (started, cpu) = (Instant::now(), cpu_seconds());
    let out = f();
    let (wall, cpu) = (started.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    println!("{label:<44} {wall:>6.2} s wall {cpu:>6.2} s cpu   peak RSS {:>5} MB", peak_rss_mb());
    out
}

fn read(path: &Path) -> impl Iterator<Item = Entry> {
    ledger::read(path).expect("ledger opens").map(|entry| entry.expect("ledger line reads"))
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(ledger::FILE_NAME);
    let mut entries = 0u64;
    measure("write the ledger (LedgerWriter)", || {
        let mut writer = LedgerWriter::create(&path).expect("ledger file");
        Run::new(|entry| {
            writer.append(&entry).expect("ledger written");
            entries += 1;
        })
        .run();
        writer.flush().expect("ledger flushed");
    });
    let size = std::fs::metadata(&path).map_or(0, |m| m.len());
    println!("ledger: {entries} entries, {} MB", size >> 20);

    let streamed = measure("(a)  ledger::read + check, streaming", || check(read(&path)));
    println!("     {}", summary(&streamed));
    measure("     ledger::read alone (parse, no check)", || read(&path).count());
    let one_thread = measure("(a1) one-thread parse + check (baseline)", || check(read_on_one_thread(&path)));
    assert_eq!(one_thread.counts, streamed.counts);
    measure("     JSON syntax alone (serde IgnoredAny)", || {
        let lines = BufReader::with_capacity(1 << 20, File::open(&path).expect("ledger opens")).split(b'\n');
        lines.filter(|line| line.as_ref().is_ok_and(|line| serde_json::from_slice::<IgnoredAny>(line).is_ok())).count()
    });

    let mut all = Vec::with_capacity(entries as usize);
    Run::new(|entry| all.push(entry)).run();
    println!("     (entries in memory: {} MB)", peak_rss_mb());
    let in_memory = measure("(b)  check alone, in memory (and drop)", || check(all));
    assert_eq!(in_memory.counts, streamed.counts);
}
