//! The cluster a `faultline run` keeps between scenarios: consecutive
//! scenarios with the same cluster shape share it (each gets a fresh topic
//! and fresh groups), which saves a broker start per scenario. A scenario
//! that ends in an error, or says `reuse = false`, gets a fresh one.

use std::path::Path;
use std::sync::Arc;

use crate::cluster::{self, Cluster, ClusterError};
use crate::scenario::ClusterSpec;

#[derive(Default)]
pub struct Clusters {
    kept: Option<Kept>,
}

struct Kept {
    spec: ClusterSpec,
    cluster: Arc<dyn Cluster>,
    /// The run that started it, for the summary.
    started_by: String,
}

/// A cluster lent to one run.
pub struct Lent {
    pub cluster: Arc<dyn Cluster>,
    /// The run that started it, when it was not this one.
    pub reused_from: Option<String>,
    spec: ClusterSpec,
    started_by: String,
}

impl Clusters {
    /// The kept cluster if `spec` may share it, else a new one (the kept one,
    /// if any, is shut down first: one cluster at a time on a small machine).
    /// A cluster that fails to start leaves its broker logs in `logs_dir`.
    pub async fn take(&mut self, spec: &ClusterSpec, run_id: &str, logs_dir: &Path) -> Result<Lent, ClusterError> {
        if let Some(kept) = self.kept.take() {
            if spec.reuse && kept.spec.shape() == spec.shape() {
                return Ok(Lent {
                    cluster: kept.cluster,
                    reused_from: Some(kept.started_by.clone()),
                    spec: kept.spec,
                    started_by: kept.started_by,
                });
            }
            shut(&*kept.cluster).await;
        }
        let cluster = cluster::start(spec, run_id, logs_dir).await?;
        Ok(Lent { cluster, reused_from: None, spec: spec.clone(), started_by: run_id.to_string() })
    }

    /// Hands the cluster back after a run: kept for the next scenario when
    /// the run left it healthy, shut down otherwise.
    pub async fn give_back(&mut self, lent: Lent, healthy: bool) {
        if healthy {
            self.kept = Some(Kept { spec: lent.spec, cluster: lent.cluster, started_by: lent.started_by });
        } else {
            shut(&*lent.cluster).await;
        }
    }

    /// Shuts down the kept cluster; call once the last scenario has run.
    pub async fn shutdown(&mut self) {
        if let Some(kept) = self.kept.take() {
            shut(&*kept.cluster).await;
        }
    }
}

async fn shut(cluster: &dyn Cluster) {
    if let Err(e) = cluster.shutdown().await {
        tracing::warn!("cluster shutdown ({}): {e}", cluster.describe());
    }
}
