//! What the checker found, in the shape the report and the CLI share
//! (`verdict.json` is this, serialized).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{FaultTiming, Timeline};
use crate::ledger::{Offset, Partition, RecordId};

/// A kind of anomaly (see DESIGN.md, "Events and invariants").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    LostWrite,
    LostDelivery,
    PrematureCommit,
    CommitRegression,
    Redelivery,
    DuplicateWrite,
    Skip,
    Nonmonotonic,
    Phantom,
    Overrun,
    ProtocolViolation,
}

impl Class {
    pub const ALL: [Class; 11] = [
        Class::LostWrite,
        Class::LostDelivery,
        Class::PrematureCommit,
        Class::CommitRegression,
        Class::Redelivery,
        Class::DuplicateWrite,
        Class::Skip,
        Class::Nonmonotonic,
        Class::Phantom,
        Class::Overrun,
        Class::ProtocolViolation,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::LostWrite => "lost-write",
            Class::LostDelivery => "lost-delivery",
            Class::PrematureCommit => "premature-commit",
            Class::CommitRegression => "commit-regression",
            Class::Redelivery => "redelivery",
            Class::DuplicateWrite => "duplicate-write",
            Class::Skip => "skip",
            Class::Nonmonotonic => "nonmonotonic",
            Class::Phantom => "phantom",
            Class::Overrun => "overrun",
            Class::ProtocolViolation => "protocol-violation",
        }
    }

    pub fn from_name(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|class| class.name() == name)
    }

    /// Whether the class breaks at-least-once delivery (the others are
    /// anomalies to count and explain).
    pub fn is_violation(self) -> bool {
        matches!(
            self,
            Class::LostWrite
                | Class::LostDelivery
                | Class::PrematureCommit
                | Class::Phantom
                | Class::Overrun
                | Class::ProtocolViolation
        )
    }

    /// One line for the summary.
    pub fn meaning(self) -> &'static str {
        match self {
            Class::LostWrite => "acked by the broker, but not in the log",
            Class::LostDelivery => "in the log below the final watermark, never processed by the group",
            Class::PrematureCommit => "a committed offset ran past records the group had not processed",
            Class::CommitRegression => "a group's committed offset moved backwards",
            Class::Redelivery => "the same record processed again by the same group",
            Class::DuplicateWrite => "one produced record at two or more offsets of the log",
            Class::Skip => "a member's position jumped forward inside one assignment",
            Class::Nonmonotonic => "a member's position went backwards inside one assignment without a seek",
            Class::Phantom => "a processed record that the log does not hold",
            Class::Overrun => "a bounded group processed records at or past its snapshot",
            Class::ProtocolViolation => "a worker broke the worker protocol: its reports cannot be trusted",
        }
    }

    /// Position in `ALL`, for per-class arrays.
    pub(super) fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verdict {
    /// Every class, 0 included.
    pub counts: BTreeMap<Class, u64>,
    /// Every class: its first findings in ledger order (at most 10).
    pub findings: BTreeMap<Class, Vec<Finding>>,
    /// Redeliveries by the fault or rebalance before them, most first.
    pub redelivery_causes: Vec<Cause>,
    /// Records never processed because a member seeked past them on purpose.
    pub skipped_by_seek: u64,
    /// The first seeks (at most 10). They carry class `skip`: skips on purpose.
    pub seek_findings: Vec<Finding>,
    pub totals: Totals,
    pub groups: Vec<GroupSummary>,
    /// Groups that reported `DrainTimeout`.
    pub drain_timeouts: Vec<String>,
    /// The client libraries the workers said they drive, with their
    /// versions (`hello`), in order of appearance.
    pub clients: Vec<String>,
    /// Whether the ledger holds the whole final audit read: the records,
    /// then a high watermark for every partition it names. Without it
    /// lost-write, lost-delivery and phantom are not judged (count 0), and
    /// duplicate-write counts only the copies read.
    pub audited: bool,
    /// The audit read began but the ledger ends before its last high
    /// watermark (the run or the ledger was cut short): the partitions the
    /// ledger names that have none. Empty if it never began, or ended.
    #[serde(default)]
    pub audit_cut: Vec<Partition>,
    /// Groups whose final committed offsets (read by the audit, after the
    /// watermarks) the ledger lacks for partitions their members committed
    /// on: premature-commit and commit-regression may hide there.
    #[serde(default)]
    pub missing_offsets: BTreeMap<String, Vec<Partition>>,
    /// The runner began the final read and the ledger lacks its end mark:
    /// final committed offsets may be missing for any group.
    #[serde(default)]
    pub audit_unfinished: bool,
    /// Per fault and group: time to detect and time to recover.
    #[serde(default)]
    pub faults: Vec<FaultTiming>,
    /// What timeline.html draws; its redelivered series sums to the
    /// redelivery count.
    pub timeline: Timeline,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub class: Class,
    /// Time (ms) of the entry that revealed it.
    pub t: u64,
    pub group: Option<String>,
    pub src: Option<String>,
    /// The first records involved (at most 5).
    pub records: Vec<RecordRef>,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRef {
    pub p: Partition,
    pub o: Offset,
    pub id: Option<RecordId>,
}

/// Shown as `p3@120 (0/17)`: partition, offset, producer/seq.
impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}@{}", self.p, self.o)?;
        match self.id {
            Some(id) => write!(f, " ({}/{})", id.producer, id.seq),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cause {
    /// E.g. "fault #1 restart-broker broker-1 (then generation 3)" or
    /// "rebalance to generation 2".
    pub cause: String,
    pub fault: Option<u32>,
    pub generation: Option<i32>,
    pub count: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Totals {
    /// Ledger entries read.
    #[serde(default)]
    pub entries: u64,
    pub sent: u64,
    pub acked: u64,
    pub failed: u64,
    /// Processed events.
    pub processed: u64,
    /// Distinct (group, partition, offset) processed: `processed` less the
    /// redeliveries.
    pub processed_unique: u64,
    pub commits_ok: u64,
    pub commit_errors: u64,
    /// Audit entries (records read back from the log).
    pub audited: u64,
    pub client_errors: u64,
    pub faults: u64,
    /// Distinct (group, generation) seen in assignments, revokes and losses.
    pub rebalances: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupSummary {
    pub group: String,
    pub members: Vec<String>,
    pub processed: u64,
    pub redelivered: u64,
    /// Has snapshot high watermarks to stop at.
    pub bounded: bool,
    /// False if the group reported `DrainTimeout`.
    pub drained: bool,
}
