//! Clusters: where the brokers come from. One trait, one backend per file.
//! Faults on brokers go through this trait so the nemesis does not care
//! whether a "pause" is a cgroup freeze or a raised round-trip time.

mod docker;
mod mock;

pub use docker::{cleanup_all, cleanup_run, cleanup_stale, docker_client, CleanupReport, DockerCluster};
pub use mock::MockCluster;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::scenario::{Backend, ClusterSpec, CutMode, RestartMode};

/// Starts a cluster of the shape `spec` gives, on its backend. A docker
/// cluster that fails to start leaves its broker logs in `logs_dir`.
pub async fn start(spec: &ClusterSpec, run_id: &str, logs_dir: &Path) -> ClusterResult<Arc<dyn Cluster>> {
    Ok(match spec.backend {
        Backend::Mock => Arc::new(MockCluster::start(spec.brokers)?),
        Backend::Docker => Arc::new(DockerCluster::start(spec, run_id, logs_dir).await?),
    })
}

/// Removes what an interrupted [`start`] of run `run_id` left behind.
pub async fn abandon(spec: &ClusterSpec, run_id: &str) {
    if spec.backend == Backend::Docker {
        if let Err(e) = cleanup_run(run_id).await {
            tracing::warn!("cleanup of the interrupted start: {e}");
        }
    }
}

pub type ClusterResult<T> = Result<T, ClusterError>;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ClusterError(pub String);

impl From<rdkafka::error::KafkaError> for ClusterError {
    fn from(e: rdkafka::error::KafkaError) -> Self {
        ClusterError(e.to_string())
    }
}

/// A running cluster the harness can fault. Brokers are numbered from 1.
#[async_trait::async_trait]
pub trait Cluster: Send + Sync {
    /// What it is, for the summary: "mock, 3 brokers".
    fn describe(&self) -> String;
    /// bootstrap.servers for clients.
    fn bootstrap(&self) -> String;
    async fn create_topic(&self, name: &str, partitions: u32, replication: u32) -> ClusterResult<()>;
    /// The broker stops answering; connections stay open. `hint` is how long
    /// the pause will last (the mock needs it).
    async fn pause_broker(&self, broker: u32, hint: Duration) -> ClusterResult<()>;
    async fn resume_broker(&self, broker: u32) -> ClusterResult<()>;
    async fn stop_broker(&self, broker: u32, mode: RestartMode) -> ClusterResult<()>;
    async fn start_broker(&self, broker: u32) -> ClusterResult<()>;
    async fn cut_network(&self, broker: u32, mode: CutMode) -> ClusterResult<()>;
    async fn heal_network(&self, broker: u32) -> ClusterResult<()>;
    /// A partition between brokers: `broker` loses its peers, clients still
    /// reach it.
    async fn isolate_broker(&self, _broker: u32) -> ClusterResult<()> {
        Err(ClusterError(format!("isolating a broker is not supported by this backend ({})", self.describe())))
    }
    async fn rejoin_broker(&self, _broker: u32) -> ClusterResult<()> {
        Err(ClusterError(format!("rejoining a broker is not supported by this backend ({})", self.describe())))
    }
    /// Saves what each broker logged from `since` on into `dir`, a file per
    /// broker. Backends without broker logs (the mock) have nothing to save.
    async fn save_logs(&self, _dir: &Path, _since: SystemTime) -> ClusterResult<()> {
        Ok(())
    }
    /// Tears the cluster down; nothing may be left behind.
    async fn shutdown(&self) -> ClusterResult<()>;
}
