//! Clusters: where the brokers come from. One trait, one backend per file.
//! Faults on brokers go through this trait so the nemesis does not care
//! whether a "pause" is a cgroup freeze or a raised round-trip time.

mod docker;
mod mock;
pub mod roles;

pub use docker::{cleanup_all, cleanup_run, cleanup_stale, docker_client, CleanupReport, DockerCluster};
pub(crate) use docker::{process_start, same_process};
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

/// What failed in a cluster, with the underlying error as `source`. The
/// message carries the source's text too: exit 2 prints only the message.
/// The larger foreign errors are boxed: a ClusterError travels inside other
/// errors (RunError), and clippy's result_large_err counts their size.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "cannot reach the Docker daemon at {host}: {source}. Is dockerd running? \
         `sudo bash docker/setup.sh` installs and starts it"
    )]
    DockerUnreachable { host: String, source: Box<bollard::errors::Error> },
    #[error(
        "image {image} is not here and cannot be pulled ({source}). Without registry access, \
         build the local Kafka image with `sudo bash docker/setup.sh`, or name a local \
         image in the scenario's `image` or in {env}",
        env = docker::IMAGE_ENV
    )]
    ImageMissing { image: String, source: Box<bollard::errors::Error> },
    /// A Docker API request made through bollard.
    #[error("{what}: {source}")]
    Docker { what: String, source: Box<bollard::errors::Error> },
    /// A broker container handled through testcontainers.
    #[error("{what}: {source}")]
    Container { what: String, source: Box<testcontainers::TestcontainersError> },
    /// A Kafka client request, or the librdkafka mock cluster itself.
    #[error("{what}: {source}")]
    Kafka { what: String, source: Box<rdkafka::error::KafkaError> },
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    /// A blocking Kafka request whose task panicked or was cancelled.
    #[error("{what}: {source}")]
    Task { what: String, source: tokio::task::JoinError },
    #[error("{what} is not supported by this backend ({backend})")]
    Unsupported { what: &'static str, backend: String },
    /// The docker backend runs a single node or a three-node quorum.
    #[error("{brokers} brokers: the docker backend runs 1 or 3")]
    BrokerCount { brokers: u32 },
    #[error("broker {broker} does not exist; brokers are 1 to {brokers}")]
    NoBroker { broker: u32, brokers: usize },
    /// A fault on a broker whose container the teardown already took.
    #[error("{container} was already removed")]
    Removed { container: String },
    /// Brokers that did not come up; `logs` holds the last lines of each.
    #[error("{what}{logs}\n(full broker logs: logs/ in the run folder)")]
    NotReady { what: String, logs: String },
    #[error("topic {topic} has partitions without a leader after {waited:?}")]
    Unplaced { topic: String, waited: Duration },
    /// The thread or channel in front of the librdkafka mock cluster.
    #[error("{0}")]
    Mock(&'static str),
    /// Broker logs that could not be saved, one message per broker.
    #[error("{}", .0.join("; "))]
    Logs(Vec<String>),
    /// What a cluster's teardown could not remove, one message per object.
    #[error("could not remove {}", .0.join("; "))]
    Teardown(Vec<String>),
    /// A cleanup by label that removed `report` but not the `failures`.
    #[error("{report}, but could not remove {}", .failures.join("; "))]
    Cleanup { report: CleanupReport, failures: Vec<String> },
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
        Err(ClusterError::Unsupported { what: "isolating a broker", backend: self.describe() })
    }
    async fn rejoin_broker(&self, _broker: u32) -> ClusterResult<()> {
        Err(ClusterError::Unsupported { what: "rejoining a broker", backend: self.describe() })
    }
    /// Saves what each broker logged from `since` on into `dir`, a file per
    /// broker. Backends without broker logs (the mock) have nothing to save.
    async fn save_logs(&self, _dir: &Path, _since: SystemTime) -> ClusterResult<()> {
        Ok(())
    }
    /// Tears the cluster down; nothing may be left behind.
    async fn shutdown(&self) -> ClusterResult<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages read as they did when ClusterError was a string: tests
    /// and users match on them.
    #[test]
    fn messages_read_as_before() {
        let refused =
            || Box::new(bollard::errors::Error::DockerResponseServerError { status_code: 500, message: "boom".into() });
        let e = ClusterError::DockerUnreachable { host: "unix:///d.sock".into(), source: refused() };
        assert_eq!(
            e.to_string(),
            "cannot reach the Docker daemon at unix:///d.sock: Docker responded with status code 500: boom. \
             Is dockerd running? `sudo bash docker/setup.sh` installs and starts it"
        );
        assert!(std::error::Error::source(&e).is_some(), "the bollard error is the source");
        let e = ClusterError::ImageMissing { image: "k:1".into(), source: refused() };
        assert!(e.to_string().starts_with("image k:1 is not here and cannot be pulled (Docker responded"), "{e}");
        assert!(e.to_string().ends_with("or in FAULTLINE_KAFKA_IMAGE"), "{e}");
        let e = ClusterError::Unsupported { what: "isolating a broker", backend: "mock (librdkafka), 1 broker".into() };
        assert_eq!(e.to_string(), "isolating a broker is not supported by this backend (mock (librdkafka), 1 broker)");
        let e = ClusterError::NoBroker { broker: 4, brokers: 3 };
        assert_eq!(e.to_string(), "broker 4 does not exist; brokers are 1 to 3");
        let e = ClusterError::NotReady {
            what: "brokers not ready".into(),
            logs: "\n--- last lines of kafka-1 ---\nx".into(),
        };
        assert_eq!(
            e.to_string(),
            "brokers not ready\n--- last lines of kafka-1 ---\nx\n(full broker logs: logs/ in the run folder)"
        );
        let e = ClusterError::Teardown(vec!["container c: gone".into(), "network n: busy".into()]);
        assert_eq!(e.to_string(), "could not remove container c: gone; network n: busy");
        let report = CleanupReport { containers: vec!["c".into()], networks: vec![] };
        let e = ClusterError::Cleanup { report, failures: vec!["network n: busy".into()] };
        assert_eq!(
            e.to_string(),
            "removed 1 container(s) [c] and 0 network(s) [], but could not remove network n: busy"
        );
    }
}
