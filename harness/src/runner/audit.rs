//! The final read: a fresh reader from the earliest offset to the high
//! watermark of every partition. It is the ground truth the checker judges
//! against, so it must read everything or fail loudly.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::{ClientConfig, Message, Offset as KOffset};

use crate::ledger::{Event, Offset, Partition, RecordId};

const TIMEOUT: Duration = Duration::from_secs(10);
/// How long transient metadata errors are retried.
const RETRY_FOR: Duration = Duration::from_secs(60);

fn reader(bootstrap: &str, group: Option<&str>) -> Result<BaseConsumer, String> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap).set("enable.auto.commit", "false");
    // librdkafka wants a group id even to assign; this reader never joins
    // or commits, so a fixed one is harmless.
    config.set("group.id", group.unwrap_or("faultline-audit"));
    config.create().map_err(|e| format!("cannot create a reader: {e}"))
}

/// High watermark of every partition. Right after a fault a broker can
/// answer before it knows its partitions again, so transient errors are
/// retried for a while before they count.
pub fn watermarks(bootstrap: &str, topic: &str, partitions: u32) -> Result<Vec<(Partition, Offset)>, String> {
    let mut c = reader(bootstrap, None)?;
    let started = Instant::now();
    (0..partitions as i32)
        .map(|p| loop {
            match c.fetch_watermarks(topic, p, TIMEOUT) {
                Ok((_, high)) => return Ok((p, high)),
                Err(e) if started.elapsed() < RETRY_FOR => {
                    tracing::debug!("high watermark of {topic}/{p}: {e}; retrying");
                    std::thread::sleep(Duration::from_millis(500));
                    // A fresh client: a stale metadata cache can keep
                    // answering "unknown partition".
                    c = reader(bootstrap, None)?;
                }
                Err(e) => return Err(format!("cannot read the high watermark of {topic}/{p}: {e}")),
            }
        })
        .collect()
}

/// Reads every record below `hwms` and hands each to `emit` as an Audit
/// event, then the Hwm of each partition.
pub fn read_log(
    bootstrap: &str,
    topic: &str,
    hwms: &[(Partition, Offset)],
    deadline: Duration,
    mut emit: impl FnMut(Event),
) -> Result<u64, String> {
    let c = reader(bootstrap, None)?;
    let mut tpl = TopicPartitionList::new();
    let mut next: std::collections::HashMap<Partition, Offset> = Default::default();
    for &(p, hwm) in hwms {
        let (low, _) = c.fetch_watermarks(topic, p, TIMEOUT).map_err(|e| format!("audit of {topic}/{p}: {e}"))?;
        if hwm > low {
            tpl.add_partition_offset(topic, p, KOffset::Offset(low)).map_err(|e| e.to_string())?;
            next.insert(p, low);
        }
    }
    c.assign(&tpl).map_err(|e| format!("audit assign: {e}"))?;
    let want: std::collections::HashMap<Partition, Offset> = hwms.iter().copied().collect();
    let started = Instant::now();
    let mut read = 0u64;
    while next.iter().any(|(p, o)| *o < want[p]) {
        if started.elapsed() > deadline {
            let missing: Vec<String> =
                next.iter().filter(|(p, o)| **o < want[*p]).map(|(p, o)| format!("{p}@{o}<{}", want[p])).collect();
            return Err(format!(
                "audit read timed out after {deadline:?}; partitions not read to the end: {}",
                missing.join(", ")
            ));
        }
        let Some(msg) = c.poll(Duration::from_millis(200)) else { continue };
        let msg = msg.map_err(|e| format!("audit read: {e}"))?;
        let (p, o) = (msg.partition(), msg.offset());
        if o >= want[&p] {
            next.insert(p, want[&p]);
            continue;
        }
        next.insert(p, o + 1);
        let id = msg.payload().and_then(RecordId::decode).unwrap_or(RecordId { producer: u32::MAX, seq: o as u64 });
        emit(Event::Audit { p, o, id });
        read += 1;
    }
    for &(p, o) in hwms {
        emit(Event::Hwm { p, o });
    }
    Ok(read)
}

/// The offsets `group` has committed, as the broker holds them.
pub fn group_offsets(
    bootstrap: &str,
    topic: &str,
    partitions: u32,
    group: &str,
) -> Result<Vec<(Partition, Offset)>, String> {
    let c = reader(bootstrap, Some(group))?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions as i32 {
        tpl.add_partition(topic, p);
    }
    let committed = c.committed_offsets(tpl, TIMEOUT).map_err(|e| format!("committed offsets of {group}: {e}"))?;
    Ok(committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            KOffset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect())
}
