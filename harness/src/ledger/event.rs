//! The events of a run. Workers emit `Event`s as JSON lines; the runner
//! stamps each with its time and source and appends it to the ledger as an
//! `Entry`. The checker reads nothing else, so everything it needs to judge a
//! run must be an event here.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The worker protocol version this faultline speaks.
pub const PROTOCOL_VERSION: u32 = 3;

/// Partition number.
pub type Partition = i32;
/// Offset inside a partition.
pub type Offset = i64;

/// Identity of a produced record: which producer wrote it, and its sequence
/// number within that producer. It is carried in the record's value.
/// In the ledger it is the pair `[producer, seq]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(from = "(u32, u64)", into = "(u32, u64)")]
#[schemars(with = "(u32, u64)")]
pub struct RecordId {
    /// Producer index (0-based, in scenario order).
    pub producer: u32,
    /// Sequence number within the producer (0-based).
    pub seq: u64,
}

impl From<(u32, u64)> for RecordId {
    fn from((producer, seq): (u32, u64)) -> Self {
        RecordId { producer, seq }
    }
}

impl From<RecordId> for (u32, u64) {
    fn from(id: RecordId) -> Self {
        (id.producer, id.seq)
    }
}

impl RecordId {
    /// The record value written by producers: `fl/<producer>/<seq>`.
    pub fn encode(&self) -> String {
        format!("fl/{}/{}", self.producer, self.seq)
    }

    /// Parses a value written by `encode`; `None` for anything else.
    pub fn decode(value: &[u8]) -> Option<RecordId> {
        let s = std::str::from_utf8(value).ok()?;
        let rest = s.strip_prefix("fl/")?;
        let (p, q) = rest.split_once('/')?;
        Some(RecordId { producer: p.parse().ok()?, seq: q.parse().ok()? })
    }
}

/// One line of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Milliseconds since the run started, as seen by the runner.
    pub t: u64,
    /// Who reported it: `runner`, `nemesis`, `audit`, or a worker name.
    pub src: String,
    pub ev: Event,
}

/// Which side of the workload a worker plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Producer,
    Consumer,
}

/// Everything that can happen in a run. Workers write the worker events
/// (docs/worker-protocol.md); the runner, the nemesis and the audit the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    // ---- worker lifecycle --------------------------------------------------
    /// A worker's first line: the protocol version it speaks and the client
    /// library (with its version) it drives.
    Hello {
        protocol: u32,
        client: String,
        version: String,
    },
    /// A worker is up. Consumers name their group so the checker can group
    /// members without any other knowledge of the scenario.
    Started {
        role: Role,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
    },
    /// A worker finished its work by itself (producer sent everything,
    /// bounded consumer reached its snapshot) and is about to exit.
    Finished,
    /// The worker process ended (reported by the runner).
    Exited {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<i32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<i32>,
    },
    /// A client error the worker saw (connection refused, session timed out…).
    ClientError {
        msg: String,
    },
    /// A line of the worker's output that is not an event (written by the
    /// runner on the worker's behalf): a protocol violation.
    Unreadable {
        line: String,
        why: String,
    },

    // ---- producer ----------------------------------------------------------
    Sent {
        id: RecordId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    Acked {
        id: RecordId,
        p: Partition,
        o: Offset,
    },
    Failed {
        id: RecordId,
        msg: String,
    },

    // ---- consumer ----------------------------------------------------------
    Assigned {
        parts: Vec<Partition>,
        #[serde(default)]
        generation: i32,
    },
    Revoked {
        parts: Vec<Partition>,
        #[serde(default)]
        generation: i32,
    },
    /// Partitions lost without a clean revoke (session expired, fenced).
    Lost {
        parts: Vec<Partition>,
        #[serde(default)]
        generation: i32,
    },
    /// The application finished processing one record.
    Processed {
        p: Partition,
        o: Offset,
        id: RecordId,
    },
    /// Result of an offset commit (auto or explicit): the next offset to read.
    Committed {
        p: Partition,
        o: Offset,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        err: Option<String>,
    },
    /// Fetching paused / resumed on request.
    FetchPaused {
        parts: Vec<Partition>,
    },
    FetchResumed {
        parts: Vec<Partition>,
    },
    /// This record is held on request: the application blocks before
    /// processing it until released.
    HoldingRecord {
        p: Partition,
        o: Offset,
    },
    /// An explicit seek: offsets between the position and `to` are skipped on
    /// purpose.
    Seek {
        p: Partition,
        from: Offset,
        to: Offset,
    },

    // ---- runner, nemesis, audit --------------------------------------------
    /// A phase of the run began (start, produce, drain, audit, …).
    Phase {
        name: String,
    },
    /// Bounded consumption: high watermarks the group must stop at.
    Snapshot {
        group: String,
        p: Partition,
        hwm: Offset,
    },
    FaultStart {
        id: u32,
        kind: String,
        target: String,
        /// A broker aimed at by its role: the role, which `target` held when
        /// the fault started ("coordinator of group G", "leader of p1").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<String>,
    },
    FaultEnd {
        id: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        err: Option<String>,
    },
    /// The group could not process up to the high watermark in time.
    DrainTimeout {
        group: String,
    },
    /// Ground truth: one record of the final read of the log.
    Audit {
        p: Partition,
        o: Offset,
        id: RecordId,
    },
    /// Final high watermark of a partition, read by the audit.
    Hwm {
        p: Partition,
        o: Offset,
    },
    /// A group's committed offset as the broker holds it after the run.
    GroupOffset {
        group: String,
        p: Partition,
        o: Offset,
    },
    /// The final read's last entry, after every group's offsets: the audit
    /// finished. A ledger with the runner's `audit` phase mark and without
    /// this was cut short, perhaps among the group offsets, where nothing
    /// else could tell.
    AuditEnd,
}

impl Event {
    /// What only the runner, the nemesis and the audit write: a worker that
    /// writes one breaks the protocol (it would forge the ground truth).
    pub fn is_the_runners(&self) -> bool {
        matches!(
            self,
            Event::Exited { .. }
                | Event::Unreadable { .. }
                | Event::Phase { .. }
                | Event::Snapshot { .. }
                | Event::FaultStart { .. }
                | Event::FaultEnd { .. }
                | Event::DrainTimeout { .. }
                | Event::Audit { .. }
                | Event::Hwm { .. }
                | Event::GroupOffset { .. }
                | Event::AuditEnd
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_id_round_trips_through_value() {
        let id = RecordId { producer: 3, seq: 12345 };
        assert_eq!(RecordId::decode(id.encode().as_bytes()), Some(id));
        assert_eq!(RecordId::decode(b"hello"), None);
        assert_eq!(RecordId::decode(b"fl/x/1"), None);
    }

    #[test]
    fn entries_are_one_json_line() {
        let e = Entry {
            t: 17,
            src: "consumer-0".into(),
            ev: Event::Processed { p: 1, o: 42, id: RecordId { producer: 0, seq: 7 } },
        };
        let line = serde_json::to_string(&e).unwrap();
        assert_eq!(line, r#"{"t":17,"src":"consumer-0","ev":{"processed":{"p":1,"o":42,"id":[0,7]}}}"#);
        assert_eq!(serde_json::from_str::<Entry>(&line).unwrap(), e);
    }
}
