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

use crate::cluster::Cluster;
use crate::ledger::Event;
use crate::runner::Progress;
use crate::scenario::{FaultKind, FaultSpec, Scenario};
use crate::workers::{Command, WorkerSet};
use heal::Heal;

/// Starts a new member of group `group` (by index) under `name`.
pub type JoinFn = Arc<dyn Fn(usize, Option<String>) -> Result<(), String> + Send + Sync>;

/// Everything a fault can act on.
#[derive(Clone)]
pub struct Targets {
    pub cluster: Arc<dyn Cluster>,
    pub workers: WorkerSet,
    pub join: JoinFn,
    pub events: tokio::sync::mpsc::UnboundedSender<(String, Event)>,
    pub progress: Arc<Progress>,
    pub healer: Healer,
}

/// A fault that could not be injected: the run is an error (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("fault #{id} {kind} could not be injected: {msg}")]
pub struct FaultError {
    pub id: u32,
    pub kind: &'static str,
    pub msg: String,
}

/// Runs the whole schedule; returns when every fault has ended and healed.
pub async fn run_schedule(scenario: &Scenario, targets: Targets, start: Instant) -> Result<(), FaultError> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, spec) in scenario.faults.iter().enumerate() {
        let targets = targets.clone();
        let spec = spec.clone();
        let group = group_index(scenario, &spec);
        tasks.spawn(async move { run_fault(i as u32 + 1, spec, group, targets, start).await });
    }
    let mut first_error = None;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(FaultError { id: 0, kind: "?", msg: format!("fault task failed: {e}") });
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn group_index(scenario: &Scenario, spec: &FaultSpec) -> usize {
    spec.group
        .as_ref()
        .and_then(|name| scenario.groups.iter().position(|g| g.name.as_deref() == Some(name)))
        .unwrap_or(0)
}

/// Name of member `member` of group `group` (both 0-based).
pub fn member_name(group: usize, member: u32) -> String {
    format!("g{group}-m{member}")
}

/// Waits for the fault's trigger. `after_processed` counts the targeted
/// member's own records when the fault names a member (so a crash lands while
/// that member has work in flight, however the group's join went), and the
/// records of all groups otherwise.
async fn wait_for_trigger(spec: &FaultSpec, member: Option<&str>, progress: &Progress, start: Instant) {
    if let Some(at) = spec.at {
        tokio::time::sleep_until(start + at).await;
    }
    let processed = || member.map_or_else(|| progress.processed(), |m| progress.processed_by(m));
    while let Some(n) = spec.after_processed {
        if processed() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    while let Some(n) = spec.after_acked {
        if progress.acked() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if let Some(delay) = spec.delay {
        tokio::time::sleep(delay).await;
    }
}

async fn run_fault(id: u32, spec: FaultSpec, group: usize, t: Targets, start: Instant) -> Result<(), FaultError> {
    let member = spec.member.map(|m| member_name(group, m));
    wait_for_trigger(&spec, member.as_deref(), &t.progress, start).await;
    let kind = spec.kind.name();
    let fail = |msg: String| FaultError { id, kind, msg };
    let duration = spec.duration.unwrap_or_default();
    let target = match (spec.broker, &member) {
        (Some(b), _) => format!("broker-{b}"),
        (None, Some(m)) => m.clone(),
        (None, None) => format!("group g{group}"),
    };
    let _ = t.events.send(("nemesis".into(), Event::FaultStart { id, kind: kind.into(), target: target.clone() }));
    tracing::info!("fault #{id} {kind} on {target}");

    let worker = |name: &Option<String>| {
        name.as_ref()
            .and_then(|n| t.workers.get(n))
            .filter(|w| !w.has_exited())
            .ok_or_else(|| fail(format!("{} is not running", name.as_deref().unwrap_or("?"))))
    };
    let heal = match spec.kind {
        FaultKind::PauseBroker => {
            let b = spec.broker.unwrap_or(1);
            t.healer.register(id, Heal::ResumeBroker(b));
            t.cluster.pause_broker(b, duration).await.map_err(|e| fail(e.0))?;
            Some(())
        }
        FaultKind::RestartBroker => {
            let b = spec.broker.unwrap_or(1);
            t.healer.register(id, Heal::StartBroker(b));
            t.cluster.stop_broker(b, spec.restart).await.map_err(|e| fail(e.0))?;
            Some(())
        }
        FaultKind::NetworkCut => {
            let b = spec.broker.unwrap_or(1);
            t.healer.register(id, Heal::RestoreNetwork(b));
            t.cluster.cut_network(b, spec.cut).await.map_err(|e| fail(e.0))?;
            Some(())
        }
        FaultKind::IsolateBroker => {
            let b = spec.broker.unwrap_or(1);
            t.healer.register(id, Heal::RejoinBroker(b));
            t.cluster.isolate_broker(b).await.map_err(|e| fail(e.0))?;
            Some(())
        }
        FaultKind::StallConsumer => {
            let w = worker(&member)?;
            t.healer.register(id, Heal::Continue(w.clone()));
            w.signal(Signal::SIGSTOP).map_err(|e| fail(e.to_string()))?;
            Some(())
        }
        FaultKind::CrashConsumer => {
            let w = worker(&member)?;
            w.signal(Signal::SIGKILL).map_err(|e| fail(e.to_string()))?;
            w.wait().await;
            // With a duration, a replacement takes the member's place after it.
            spec.duration.map(|_| ())
        }
        FaultKind::LeaveConsumer => {
            worker(&member)?.stop(Duration::from_secs(30)).await;
            None
        }
        FaultKind::JoinConsumer => {
            (t.join)(group, None).map_err(fail)?;
            None
        }
        FaultKind::PauseFetch => {
            let members = t.workers.live_with_prefix(&format!("g{group}-"));
            let members: Vec<_> = match &member {
                Some(m) => members.into_iter().filter(|w| &w.name == m).collect(),
                None => members,
            };
            if members.is_empty() {
                return Err(fail("no live member to pause".into()));
            }
            t.healer.register(id, Heal::ResumeFetch(members.clone(), spec.seek_to_end));
            for w in &members {
                w.send(&Command::PauseFetch).await.map_err(|e| fail(e.to_string()))?;
            }
            Some(())
        }
    };
    if heal.is_some() {
        tokio::time::sleep(duration).await;
        if spec.kind == FaultKind::CrashConsumer {
            (t.join)(group, member.clone()).map_err(fail)?;
        }
    }
    let err = t.healer.heal(id).await.err();
    let _ = t.events.send(("nemesis".into(), Event::FaultEnd { id, err: err.clone() }));
    match err {
        Some(msg) => Err(fail(format!("could not be healed: {msg}"))),
        None => Ok(()),
    }
}
