//! Consumer worker: one member of a group. Reports assignments with their
//! generation, every processed record (before its offset is stored or
//! committed), and every commit result, whichever strategy commits it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::{ClientConfig, ClientContext, Message, Offset as KOffset};

use super::emit::emit;
use super::{command_channel, Command, ConsumerWork};
use crate::ledger::{Event, Partition, RecordId, Role};
use crate::scenario::{CommitStrategy, GroupProtocol};

const POLL: Duration = Duration::from_millis(100);
const WATERMARK_TIMEOUT: Duration = Duration::from_secs(10);

struct Reporter {
    topic: String,
    /// Fetching was paused on request: keep it paused across rebalances.
    paused: std::sync::atomic::AtomicBool,
    /// Partitions revoked or lost since the member last looked: offsets it
    /// had pending on them belong to the old assignment. (Callbacks run
    /// inside poll, on the member's own thread.)
    revoked: std::sync::Mutex<Vec<Partition>>,
}

impl ClientContext for Reporter {
    fn error(&self, error: KafkaError, reason: &str) {
        emit(&Event::ClientError { msg: format!("{error}: {reason}") });
    }
}

impl ConsumerContext for Reporter {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let parts = partitions(tpl);
            if let Ok(mut revoked) = self.revoked.lock() {
                revoked.extend(&parts);
            }
            let generation = generation(consumer);
            emit(&if consumer.assignment_lost() {
                Event::Lost { parts, generation }
            } else {
                Event::Revoked { parts, generation }
            });
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                emit(&Event::Assigned { parts: partitions(tpl), generation: generation(consumer) });
                if self.paused.load(std::sync::atomic::Ordering::SeqCst) {
                    let _ = consumer.pause(tpl);
                }
            }
            Rebalance::Error(e) => emit(&Event::ClientError { msg: format!("rebalance: {e}") }),
            Rebalance::Revoke(_) => {}
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        // Nothing to commit is not a commit.
        if let Err(KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) = result {
            return;
        }
        for elem in offsets.elements_for_topic(&self.topic) {
            if let KOffset::Offset(o) = elem.offset() {
                let err =
                    elem.error().err().map(|e| e.to_string()).or_else(|| result.as_ref().err().map(|e| e.to_string()));
                emit(&Event::Committed { p: elem.partition(), o, err });
            }
        }
    }
}

fn partitions(tpl: &TopicPartitionList) -> Vec<Partition> {
    tpl.elements().iter().map(|e| e.partition()).collect()
}

/// The group generation this member is in, as librdkafka knows it.
fn generation(consumer: &BaseConsumer<Reporter>) -> i32 {
    use rdkafka::bindings as rd;
    // SAFETY: the pointer comes from a live client; the metadata object is
    // owned here and destroyed right after reading it.
    unsafe {
        let md = rd::rd_kafka_consumer_group_metadata(consumer.client().native_ptr());
        if md.is_null() {
            return -1;
        }
        let g = rd::rd_kafka_consumer_group_metadata_generation_id(md);
        rd::rd_kafka_consumer_group_metadata_destroy(md);
        g
    }
}

pub fn run(work: ConsumerWork) -> KafkaResult<()> {
    let mut config = ClientConfig::new();
    let (auto_commit, auto_store) = match work.commit {
        CommitStrategy::Auto => (true, true),
        CommitStrategy::AutoStoreAfterProcessing => (true, false),
        CommitStrategy::SyncEach | CommitStrategy::SyncBatch | CommitStrategy::Async => (false, false),
    };
    config
        .set("bootstrap.servers", &work.bootstrap)
        .set("group.id", &work.group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", auto_commit.to_string())
        .set("enable.auto.offset.store", auto_store.to_string())
        .set(
            "group.protocol",
            match work.protocol {
                GroupProtocol::Classic => "classic",
                GroupProtocol::Consumer => "consumer",
            },
        );
    for (k, v) in &work.properties {
        config.set(k, v);
    }
    let consumer: BaseConsumer<Reporter> = config.create_with_context(Reporter {
        topic: work.topic.clone(),
        paused: Default::default(),
        revoked: Default::default(),
    })?;
    consumer.subscribe(&[&work.topic])?;
    emit(&Event::Started { role: Role::Consumer, group: Some(work.group.clone()) });

    let commands = command_channel();
    let mut member = Member {
        work: &work,
        consumer: &consumer,
        since_commit: 0,
        pending: BTreeMap::new(),
        done: BTreeSet::new(),
        hold: false,
    };
    let result = member.run(&commands);
    member.final_commit();
    if result.is_ok() && (work.snapshot.is_some() || work.idle_exit_ms.is_some()) {
        emit(&Event::Finished);
    }
    // Dropping the consumer closes it: revoke, final auto commit, leave.
    drop(consumer);
    result
}

struct Member<'a> {
    work: &'a ConsumerWork,
    consumer: &'a BaseConsumer<Reporter>,
    since_commit: u32,
    /// Next offset to commit per partition, for the explicit strategies.
    pending: BTreeMap<Partition, i64>,
    /// Bounded mode: partitions that reached their snapshot.
    done: BTreeSet<Partition>,
    /// `hold-record` came: the next record is held before processing.
    hold: bool,
}

impl Member<'_> {
    fn run(&mut self, commands: &Receiver<Command>) -> KafkaResult<()> {
        let snapshot: Option<BTreeMap<Partition, i64>> =
            self.work.snapshot.as_ref().map(|s| s.iter().copied().collect());
        let mut last_record = std::time::Instant::now();
        loop {
            match commands.try_recv() {
                Ok(Command::Stop) | Err(TryRecvError::Disconnected) => return Ok(()),
                Ok(Command::PauseFetch) => self.pause_fetch()?,
                Ok(Command::ResumeFetch { seek_to_end }) => self.resume_fetch(seek_to_end)?,
                Ok(Command::HoldRecord) => self.hold = true,
                Ok(Command::ReleaseRecord) => self.hold = false,
                Err(TryRecvError::Empty) => {}
            }
            if let Some(snapshot) = &snapshot {
                if self.bounded_done(snapshot) {
                    return Ok(());
                }
            }
            if self.work.idle_exit_ms.is_some_and(|idle| last_record.elapsed() >= Duration::from_millis(idle)) {
                return Ok(());
            }
            let polled = self.consumer.poll(POLL);
            self.forget_if_revoked();
            let Some(result) = polled else { continue };
            let msg = match result {
                Ok(msg) => msg,
                Err(e) => {
                    emit(&Event::ClientError { msg: e.to_string() });
                    continue;
                }
            };
            let (p, o) = (msg.partition(), msg.offset());
            last_record = std::time::Instant::now();
            if let Some(hwm) = snapshot.as_ref().and_then(|s| s.get(&p)) {
                if o >= *hwm {
                    // Past the snapshot: not ours to process. Stop fetching it
                    // and rewind so no later commit runs past it.
                    self.finish_partition(p, *hwm)?;
                    continue;
                }
            }
            let id = msg.payload().and_then(RecordId::decode).unwrap_or(RecordId { producer: u32::MAX, seq: 0 });
            if std::mem::take(&mut self.hold) && !self.hold_record(p, o, commands)? {
                return Ok(());
            }
            if self.work.processing_us > 0 {
                std::thread::sleep(Duration::from_micros(self.work.processing_us));
            }
            // Reported (and flushed) before the offset is stored or committed.
            emit(&Event::Processed { p, o, id });
            match self.work.commit {
                CommitStrategy::Auto => {}
                CommitStrategy::AutoStoreAfterProcessing => self.consumer.store_offset_from_message(&msg)?,
                CommitStrategy::SyncEach | CommitStrategy::SyncBatch | CommitStrategy::Async => {
                    self.pending.insert(p, o + 1);
                    self.since_commit += 1;
                    let batch = if self.work.commit == CommitStrategy::SyncEach { 1 } else { self.work.batch };
                    if self.since_commit >= batch {
                        let mode = if self.work.commit == CommitStrategy::Async {
                            CommitMode::Async
                        } else {
                            CommitMode::Sync
                        };
                        self.commit_pending(mode);
                    }
                }
            }
            if let Some(hwm) = snapshot.as_ref().and_then(|s| s.get(&p)) {
                if o + 1 >= *hwm {
                    drop(msg);
                    self.finish_partition(p, *hwm)?;
                }
            }
        }
    }

    /// Blocks this thread, the one that polls, with record (p, o) in hand
    /// until `release-record`; librdkafka's threads go on heartbeating, and
    /// its max.poll.interval.ms timer runs. False: `stop` came instead (or
    /// the harness is gone), and the record stays unprocessed.
    fn hold_record(&self, p: Partition, o: i64, commands: &Receiver<Command>) -> KafkaResult<bool> {
        emit(&Event::HoldingRecord { p, o });
        loop {
            match commands.recv() {
                Ok(Command::ReleaseRecord) => return Ok(true),
                Ok(Command::Stop) | Err(_) => return Ok(false),
                Ok(Command::PauseFetch) => self.pause_fetch()?,
                Ok(Command::ResumeFetch { seek_to_end }) => self.resume_fetch(seek_to_end)?,
                Ok(Command::HoldRecord) => {}
            }
        }
    }

    /// Commits the offsets after the records processed since the last
    /// commit, for partitions still assigned. librdkafka reports async
    /// commits through the commit callback but not sync ones, so sync
    /// results are reported here.
    fn commit_pending(&mut self, mode: CommitMode) {
        self.since_commit = 0;
        if self.pending.is_empty() {
            return;
        }
        let assigned: BTreeSet<Partition> =
            self.assignment().map(|a| partitions(&a).into_iter().collect()).unwrap_or_default();
        self.pending.retain(|p, _| assigned.contains(p));
        if self.pending.is_empty() {
            return;
        }
        let mut tpl = TopicPartitionList::new();
        for (&p, &o) in &self.pending {
            let _ = tpl.add_partition_offset(&self.work.topic, p, KOffset::Offset(o));
        }
        let result = self.consumer.commit(&tpl, mode);
        if matches!(mode, CommitMode::Sync) {
            let err = result.as_ref().err().map(|e| e.to_string());
            for (&p, &o) in &self.pending {
                emit(&Event::Committed { p, o, err: err.clone() });
            }
        } else if let Err(e) = &result {
            emit(&Event::ClientError { msg: format!("commit: {e}") });
        }
        if result.is_ok() {
            self.pending.clear();
        }
    }

    /// Offsets pending on a partition that was revoked or lost are not
    /// committed in a later assignment: the member may get the partition
    /// back from an older commit and would move the group's offset backwards
    /// when it commits again. Those records come again instead (redelivery).
    /// Partitions the member keeps (a partial, cooperative revoke) keep theirs.
    fn forget_if_revoked(&mut self) {
        let revoked = match self.consumer.context().revoked.lock() {
            Ok(mut revoked) => std::mem::take(&mut *revoked),
            Err(_) => return,
        };
        for p in revoked {
            self.pending.remove(&p);
        }
    }

    /// Explicit strategies commit what they processed before leaving (only
    /// they have pending offsets); the auto strategies leave it to the close.
    fn final_commit(&mut self) {
        self.commit_pending(CommitMode::Sync);
    }

    fn assignment(&self) -> KafkaResult<TopicPartitionList> {
        self.consumer.assignment()
    }

    fn pause_fetch(&self) -> KafkaResult<()> {
        self.consumer.context().paused.store(true, std::sync::atomic::Ordering::SeqCst);
        let tpl = self.assignment()?;
        self.consumer.pause(&tpl)?;
        emit(&Event::FetchPaused { parts: partitions(&tpl) });
        Ok(())
    }

    fn resume_fetch(&self, seek_to_end: bool) -> KafkaResult<()> {
        self.consumer.context().paused.store(false, std::sync::atomic::Ordering::SeqCst);
        let tpl = self.assignment()?;
        if seek_to_end {
            let positions = self.consumer.position()?;
            for elem in tpl.elements() {
                let p = elem.partition();
                let (_, high) = self.consumer.fetch_watermarks(&self.work.topic, p, WATERMARK_TIMEOUT)?;
                let from = match positions.find_partition(&self.work.topic, p).map(|e| e.offset()) {
                    Some(KOffset::Offset(o)) => o,
                    _ => self.committed_or_zero(p),
                };
                if high > from {
                    emit(&Event::Seek { p, from, to: high });
                    self.seek(p, high)?;
                }
            }
        }
        self.consumer.resume(&tpl)?;
        emit(&Event::FetchResumed { parts: partitions(&tpl) });
        Ok(())
    }

    fn committed_or_zero(&self, p: Partition) -> i64 {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(&self.work.topic, p);
        match self.consumer.committed_offsets(tpl, WATERMARK_TIMEOUT) {
            Ok(c) => match c.find_partition(&self.work.topic, p).map(|e| e.offset()) {
                Some(KOffset::Offset(o)) => o,
                _ => 0,
            },
            Err(_) => 0,
        }
    }

    fn seek(&self, p: Partition, to: i64) -> KafkaResult<()> {
        self.consumer.seek(&self.work.topic, p, KOffset::Offset(to), WATERMARK_TIMEOUT)
    }

    fn finish_partition(&mut self, p: Partition, hwm: i64) -> KafkaResult<()> {
        if self.done.insert(p) {
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition(&self.work.topic, p);
            self.consumer.pause(&tpl)?;
            self.seek(p, hwm)?;
        }
        Ok(())
    }

    /// Bounded mode ends when every assigned partition has reached its
    /// snapshot (by processing up to it, or by starting at or past it).
    fn bounded_done(&mut self, snapshot: &BTreeMap<Partition, i64>) -> bool {
        let Ok(assignment) = self.assignment() else { return false };
        if assignment.count() == 0 {
            return false;
        }
        let positions = self.consumer.position().ok();
        for elem in assignment.elements() {
            let p = elem.partition();
            let hwm = snapshot.get(&p).copied().unwrap_or(0);
            let pos =
                positions.as_ref().and_then(|t| t.find_partition(&self.work.topic, p)).and_then(|e| match e.offset() {
                    KOffset::Offset(o) => Some(o),
                    _ => None,
                });
            if hwm == 0 || pos.is_some_and(|o| o >= hwm) {
                self.done.insert(p);
            }
            if !self.done.contains(&p) {
                return false;
            }
        }
        true
    }
}
