//! Faults with their targets resolved: what the nemesis executes. Validation
//! makes them once, so the nemesis has no name to look up and no default to
//! guess. Worker names come from [`WorkerId`] and nowhere else.

use std::fmt;
use std::time::Duration;

use super::{CutMode, FaultKind, RestartMode};

/// A broker fault's broker: by id, or by the role it has when the fault
/// starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerTarget {
    Id(u32),
    /// The group's coordinator.
    Coordinator(GroupIx),
    /// The leader of this partition of the run's topic.
    Leader(u32),
}

impl BrokerTarget {
    /// The broker, when it is fixed.
    pub fn id(self) -> Option<u32> {
        match self {
            BrokerTarget::Id(b) => Some(b),
            _ => None,
        }
    }
}

/// "broker-2", "coordinator of g0", "leader of p1".
impl fmt::Display for BrokerTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerTarget::Id(b) => write!(f, "broker-{b}"),
            BrokerTarget::Coordinator(g) => write!(f, "coordinator of {g}"),
            BrokerTarget::Leader(p) => write!(f, "leader of p{p}"),
        }
    }
}

/// A consumer group by its place in the file (0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupIx(pub usize);

impl GroupIx {
    /// What the names of this group's members start with.
    pub fn member_prefix(self) -> String {
        format!("g{}-", self.0)
    }
}

impl fmt::Display for GroupIx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "g{}", self.0)
    }
}

/// A member of a group (0-based). Replacements of a crashed member keep its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberId {
    pub group: GroupIx,
    pub member: u32,
}

/// A worker process of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkerId {
    Producer(usize),
    Member(MemberId),
}

/// The worker's name in the ledger and its log file: `p0`, `g1-m2`.
impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerId::Producer(i) => write!(f, "p{i}"),
            WorkerId::Member(m) => write!(f, "{}m{}", m.group.member_prefix(), m.member),
        }
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        WorkerId::Member(*self).fmt(f)
    }
}

/// A fault of the schedule, ready to inject.
#[derive(Debug, Clone)]
pub struct Fault {
    /// 1-based, in file order: `fault #1`.
    pub id: u32,
    pub trigger: Trigger,
    /// Waited after the trigger.
    pub delay: Option<Duration>,
    pub action: Action,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// This long after the workload starts.
    At(Duration),
    /// Once this many records are processed: by the targeted member if the
    /// fault has one, by all groups otherwise.
    AfterProcessed(u64),
    /// Once the producers have this many records acknowledged.
    AfterAcked(u64),
}

/// What a fault does, with exactly its own fields. Brokers are 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    PauseBroker {
        broker: BrokerTarget,
        duration: Duration,
    },
    RestartBroker {
        broker: BrokerTarget,
        duration: Duration,
        mode: RestartMode,
    },
    NetworkCut {
        broker: BrokerTarget,
        duration: Duration,
        mode: CutMode,
    },
    IsolateBroker {
        broker: BrokerTarget,
        duration: Duration,
    },
    /// `replace_after`: a replacement starts under the same name after it.
    CrashConsumer {
        member: MemberId,
        replace_after: Option<Duration>,
    },
    StallConsumer {
        member: MemberId,
        duration: Duration,
    },
    HoldRecord {
        member: MemberId,
        duration: Duration,
    },
    LeaveConsumer {
        member: MemberId,
    },
    JoinConsumer {
        group: GroupIx,
    },
    /// `member: None`: every live member of the group.
    PauseFetch {
        group: GroupIx,
        member: Option<MemberId>,
        duration: Duration,
        seek_to_end: bool,
    },
}

impl Action {
    /// The kind as the scenario file spells it.
    pub fn kind(&self) -> &'static str {
        let kind = match self {
            Action::PauseBroker { .. } => FaultKind::PauseBroker,
            Action::RestartBroker { .. } => FaultKind::RestartBroker,
            Action::NetworkCut { .. } => FaultKind::NetworkCut,
            Action::IsolateBroker { .. } => FaultKind::IsolateBroker,
            Action::CrashConsumer { .. } => FaultKind::CrashConsumer,
            Action::StallConsumer { .. } => FaultKind::StallConsumer,
            Action::HoldRecord { .. } => FaultKind::HoldRecord,
            Action::LeaveConsumer { .. } => FaultKind::LeaveConsumer,
            Action::JoinConsumer { .. } => FaultKind::JoinConsumer,
            Action::PauseFetch { .. } => FaultKind::PauseFetch,
        };
        kind.name()
    }

    /// What it acts on, as the ledger and the report name it (a broker
    /// named by its role: the role; the nemesis names the broker it hit).
    pub fn target(&self) -> String {
        match self {
            Action::PauseBroker { broker, .. }
            | Action::RestartBroker { broker, .. }
            | Action::NetworkCut { broker, .. }
            | Action::IsolateBroker { broker, .. } => broker.to_string(),
            Action::CrashConsumer { member, .. }
            | Action::StallConsumer { member, .. }
            | Action::HoldRecord { member, .. }
            | Action::LeaveConsumer { member }
            | Action::PauseFetch { member: Some(member), .. } => member.to_string(),
            Action::JoinConsumer { group } | Action::PauseFetch { group, member: None, .. } => format!("group {group}"),
        }
    }

    /// The broker a broker fault hits.
    pub fn broker(&self) -> Option<BrokerTarget> {
        match self {
            Action::PauseBroker { broker, .. }
            | Action::RestartBroker { broker, .. }
            | Action::NetworkCut { broker, .. }
            | Action::IsolateBroker { broker, .. } => Some(*broker),
            _ => None,
        }
    }

    /// The member whose own progress an `after_processed` trigger counts.
    pub fn member(&self) -> Option<MemberId> {
        match self {
            Action::CrashConsumer { member, .. }
            | Action::StallConsumer { member, .. }
            | Action::HoldRecord { member, .. }
            | Action::LeaveConsumer { member } => Some(*member),
            Action::PauseFetch { member, .. } => *member,
            _ => None,
        }
    }
}
