//! Pending heals of active faults, kept apart from the schedule so the
//! runner can heal everything on failure or Ctrl-C.

use std::sync::{Arc, Mutex};

use nix::sys::signal::Signal;

use crate::cluster::Cluster;
use crate::workers::{Command, WorkerHandle};

pub enum Heal {
    ResumeBroker(u32),
    StartBroker(u32),
    RestoreNetwork(u32),
    RejoinBroker(u32),
    Continue(Arc<WorkerHandle>),
    ResumeFetch(Vec<Arc<WorkerHandle>>, bool),
    ReleaseRecord(Arc<WorkerHandle>),
}

#[derive(Clone)]
pub struct Healer {
    cluster: Arc<dyn Cluster>,
    pending: Arc<Mutex<Vec<(u32, Heal)>>>,
}

impl Healer {
    pub fn new(cluster: Arc<dyn Cluster>) -> Healer {
        Healer { cluster, pending: Default::default() }
    }

    pub fn register(&self, id: u32, heal: Heal) {
        self.pending.lock().expect("healer").push((id, heal));
    }

    /// Heals fault `id` if it is still active.
    pub async fn heal(&self, id: u32) -> Result<(), String> {
        let mine: Vec<Heal> = {
            let mut pending = self.pending.lock().expect("healer");
            let (mine, rest): (Vec<_>, Vec<_>) = pending.drain(..).partition(|(i, _)| *i == id);
            *pending = rest;
            mine.into_iter().map(|(_, h)| h).collect()
        };
        for heal in mine {
            self.apply(heal).await?;
        }
        Ok(())
    }

    /// Heals every active fault; returns the errors met on the way.
    pub async fn heal_all(&self) -> Vec<String> {
        let all: Vec<Heal> = self.pending.lock().expect("healer").drain(..).map(|(_, h)| h).collect();
        let mut errors = Vec::new();
        for heal in all {
            if let Err(e) = self.apply(heal).await {
                errors.push(e);
            }
        }
        errors
    }

    async fn apply(&self, heal: Heal) -> Result<(), String> {
        match heal {
            Heal::ResumeBroker(b) => self.cluster.resume_broker(b).await.map_err(|e| e.to_string()),
            Heal::StartBroker(b) => self.cluster.start_broker(b).await.map_err(|e| e.to_string()),
            Heal::RestoreNetwork(b) => self.cluster.heal_network(b).await.map_err(|e| e.to_string()),
            Heal::RejoinBroker(b) => self.cluster.rejoin_broker(b).await.map_err(|e| e.to_string()),
            Heal::Continue(w) => w.signal(Signal::SIGCONT).map_err(|e| e.to_string()),
            Heal::ResumeFetch(members, seek_to_end) => {
                for w in &members {
                    tell(w, &Command::ResumeFetch { seek_to_end }).await?;
                }
                Ok(())
            }
            Heal::ReleaseRecord(w) => tell(&w, &Command::ReleaseRecord).await,
        }
    }
}

/// Sends a heal's command; a worker that has exited (before or while it is
/// sent) has nothing left to heal.
async fn tell(w: &WorkerHandle, command: &Command) -> Result<(), String> {
    match w.send(command).await {
        Err(_) if w.has_exited() => Ok(()),
        sent => sent.map_err(|e| e.to_string()),
    }
}
