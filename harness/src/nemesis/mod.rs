//! The nemesis: runs the fault schedule against the cluster and the workers.
//! Every fault that lasts is registered with its heal before it is injected,
//! so it is healed when its time is up and also when the run fails or is
//! interrupted: nothing is left paused, down or stopped.

mod heal;

pub use heal::Healer;

use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::time::Instant;

use crate::cluster::{self, Cluster, ClusterError};
use crate::ledger::Event;
use crate::progress::Progress;
use crate::scenario::{Action, BrokerTarget, Fault, GroupIx, MemberId, Trigger, WorkerId};
use crate::workers::{Command, WorkerSet};
use heal::Heal;

/// Starts a member: a replacement under a crashed member's id, or (`None`)
/// a new member of the group under the next free id.
pub type JoinFn = Arc<dyn Fn(GroupIx, Option<MemberId>) -> Result<(), String> + Send + Sync>;

/// Everything a fault can act on.
#[derive(Clone)]
pub struct Targets {
    pub cluster: Arc<dyn Cluster>,
    pub workers: WorkerSet,
    pub join: JoinFn,
    pub events: tokio::sync::mpsc::UnboundedSender<(String, Event)>,
    pub progress: Arc<Progress>,
    pub healer: Healer,
    /// Group ids by the groups' places in the file, and the run's topic:
    /// whose coordinator and leader a fault aimed at a role looks up.
    pub groups: Arc<Vec<String>>,
    pub topic: String,
}

/// A fault that could not be injected or healed: the run is an error (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("fault #{id} {kind} {what}: {reason}")]
pub struct FaultError {
    pub id: u32,
    pub kind: &'static str,
    /// "could not be injected" or "could not be healed".
    pub what: &'static str,
    pub reason: String,
}

/// How long a held member may wait for a record to hold.
pub const HOLD_WAIT: Duration = Duration::from_secs(10);

/// How long a member gets to leave cleanly before it is killed.
const LEAVE_GRACE: Duration = Duration::from_secs(30);

/// Runs the whole schedule; returns when every fault has ended and healed.
pub async fn run_schedule(plan: &[Fault], targets: Targets, start: Instant) -> Result<(), FaultError> {
    let mut tasks = tokio::task::JoinSet::new();
    for fault in plan {
        let (targets, fault) = (targets.clone(), fault.clone());
        tasks.spawn(async move { run_fault(fault, targets, start).await });
    }
    let mut first_error = None;
    while let Some(done) = tasks.join_next().await {
        let result = done.unwrap_or_else(|e| {
            Err(FaultError {
                id: 0,
                kind: "?",
                what: "could not be injected",
                reason: format!("fault task failed: {e}"),
            })
        });
        if let Err(e) = result {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Waits for the fault's trigger. `after_processed` counts the targeted
/// member's own records when the fault names a member (so a crash lands while
/// that member has work in flight, however the group's join went), and the
/// records of all groups otherwise.
async fn wait_for_trigger(fault: &Fault, progress: &Progress, start: Instant) {
    let member = fault.action.member().map(|m| WorkerId::Member(m).to_string());
    match fault.trigger {
        Trigger::At(at) => tokio::time::sleep_until(start + at).await,
        Trigger::AfterProcessed(n) => {
            let processed = || member.as_deref().map_or_else(|| progress.processed(), |m| progress.processed_by(m));
            while processed() < n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        Trigger::AfterAcked(n) => {
            while progress.acked() < n {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    if let Some(delay) = fault.delay {
        tokio::time::sleep(delay).await;
    }
}

/// The broker a broker fault hits now.
async fn resolve(b: BrokerTarget, t: &Targets) -> Result<u32, ClusterError> {
    match b {
        BrokerTarget::Id(id) => Ok(id),
        BrokerTarget::Coordinator(g) => cluster::roles::coordinator(&t.cluster.bootstrap(), &t.groups[g.0]).await,
        BrokerTarget::Leader(p) => cluster::roles::leader(&t.cluster.bootstrap(), &t.topic, p).await,
    }
}

/// "coordinator of group G", "leader of p1" (of the run's topic).
fn role_of(b: BrokerTarget, t: &Targets) -> String {
    match b {
        BrokerTarget::Coordinator(g) => format!("coordinator of group {}", t.groups[g.0]),
        _ => b.to_string(),
    }
}

async fn run_fault(fault: Fault, t: Targets, start: Instant) -> Result<(), FaultError> {
    wait_for_trigger(&fault, &t.progress, start).await;
    let (id, kind) = (fault.id, fault.action.kind());
    let fail = |reason: String| FaultError { id, kind, what: "could not be injected", reason };
    // A broker aimed at by its role is looked up now, as the fault starts;
    // only broker faults read `broker`.
    let (broker, role) = match fault.action.broker() {
        None => (0, None),
        Some(b) => (resolve(b, &t).await.map_err(|e| fail(e.to_string()))?, b.id().is_none().then(|| role_of(b, &t))),
    };
    let target = if role.is_some() { format!("broker-{broker}") } else { fault.action.target() };
    let _ =
        t.events.send(("nemesis".into(), Event::FaultStart { id, kind: kind.into(), target: target.clone(), role }));
    tracing::info!("fault #{id} {kind} on {target}");

    let worker = |m: MemberId| {
        let name = WorkerId::Member(m).to_string();
        t.workers.get(&name).filter(|w| !w.has_exited()).ok_or_else(|| fail(format!("{name} is not running")))
    };
    // Faults that last register their heal before they act: it runs when
    // their time is up, or at teardown if the run ends first.
    let lasts = match &fault.action {
        Action::PauseBroker { duration, .. } => {
            t.healer.register(id, Heal::ResumeBroker(broker));
            t.cluster.pause_broker(broker, *duration).await.map_err(|e| fail(e.to_string()))?;
            Some(*duration)
        }
        Action::RestartBroker { duration, mode, .. } => {
            t.healer.register(id, Heal::StartBroker(broker));
            t.cluster.stop_broker(broker, *mode).await.map_err(|e| fail(e.to_string()))?;
            Some(*duration)
        }
        Action::NetworkCut { duration, mode, .. } => {
            t.healer.register(id, Heal::RestoreNetwork(broker));
            t.cluster.cut_network(broker, *mode).await.map_err(|e| fail(e.to_string()))?;
            Some(*duration)
        }
        Action::IsolateBroker { duration, .. } => {
            t.healer.register(id, Heal::RejoinBroker(broker));
            t.cluster.isolate_broker(broker).await.map_err(|e| fail(e.to_string()))?;
            Some(*duration)
        }
        Action::StallConsumer { member, duration } => {
            let w = worker(*member)?;
            t.healer.register(id, Heal::Continue(w.clone()));
            w.signal(Signal::SIGSTOP).map_err(|e| fail(e.to_string()))?;
            Some(*duration)
        }
        // The hold lasts `duration` from the record's arrival, when the
        // member says which record it holds.
        Action::HoldRecord { member, duration } => {
            let w = worker(*member)?;
            let held = t.progress.records_held(&w.name);
            t.healer.register(id, Heal::ReleaseRecord(w.clone()));
            w.send(&Command::HoldRecord).await.map_err(|e| fail(e.to_string()))?;
            let waited = Instant::now();
            while t.progress.records_held(&w.name) == held {
                if waited.elapsed() > HOLD_WAIT || w.has_exited() {
                    let _ = t.healer.heal(id).await;
                    return Err(fail(format!(
                        "{} held no record within {HOLD_WAIT:?} of `hold-record` (no record reached it, \
                         or it does not implement the command)",
                        w.name
                    )));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Some(*duration)
        }
        Action::CrashConsumer { member, replace_after } => {
            let w = worker(*member)?;
            w.signal(Signal::SIGKILL).map_err(|e| fail(e.to_string()))?;
            w.wait().await;
            if let Some(after) = replace_after {
                tokio::time::sleep(*after).await;
                (t.join)(member.group, Some(*member)).map_err(fail)?;
            }
            None
        }
        Action::LeaveConsumer { member } => {
            worker(*member)?.stop(LEAVE_GRACE).await;
            None
        }
        Action::JoinConsumer { group } => {
            (t.join)(*group, None).map_err(fail)?;
            None
        }
        Action::PauseFetch { group, member, duration, seek_to_end } => {
            let mut members = t.workers.live_with_prefix(&group.member_prefix());
            if let Some(m) = member {
                let name = WorkerId::Member(*m).to_string();
                members.retain(|w| w.name == name);
            }
            if members.is_empty() {
                return Err(fail("no live member to pause".into()));
            }
            t.healer.register(id, Heal::ResumeFetch(members.clone(), *seek_to_end));
            for w in &members {
                w.send(&Command::PauseFetch).await.map_err(|e| fail(e.to_string()))?;
            }
            Some(*duration)
        }
    };
    if let Some(duration) = lasts {
        tokio::time::sleep(duration).await;
    }
    let err = t.healer.heal(id).await.err();
    let _ = t.events.send(("nemesis".into(), Event::FaultEnd { id, err: err.clone() }));
    match err {
        Some(reason) => Err(FaultError { id, kind, what: "could not be healed", reason }),
        None => Ok(()),
    }
}
