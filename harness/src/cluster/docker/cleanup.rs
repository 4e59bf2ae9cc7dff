//! Reaping what earlier runs left behind. Every container and network of a
//! run is labelled with the harness process that made it; whatever belongs
//! to a process that is gone can go. An aborted harness (SIGKILL, a crashed
//! CI job) leaves its brokers running, so this is not optional.

use std::collections::HashMap;
use std::fmt;

use bollard::errors::Error as DockerError;
use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions, RemoveContainerOptions};
use bollard::Docker;

use super::engine::{self, LABEL, LABEL_PID, LABEL_PID_START, LABEL_RUN};
use crate::cluster::{ClusterError, ClusterResult};

/// What a cleanup removed, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanupReport {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
}

impl CleanupReport {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty()
    }
}

impl fmt::Display for CleanupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return write!(f, "nothing to remove");
        }
        write!(
            f,
            "removed {} container(s) [{}] and {} network(s) [{}]",
            self.containers.len(),
            self.containers.join(", "),
            self.networks.len(),
            self.networks.join(", ")
        )
    }
}

/// Which labelled objects to remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope<'a> {
    /// Those whose harness process has exited.
    Stale,
    /// Those not owned by a live harness process: also those without a
    /// readable owner label.
    Orphaned,
    /// Those of one run, whoever owns them: a start cut short by Ctrl-C.
    Run(&'a str),
}

/// Removes (force) the containers and networks labelled `faultline=1`
/// whose `faultline.pid` process is no longer alive. `DockerCluster::start`
/// runs it first.
pub async fn cleanup_stale() -> ClusterResult<CleanupReport> {
    reap(&engine::connect().await?, Scope::Stale).await
}

/// For `faultline cleanup`: removes everything labelled `faultline=1` that
/// no live faultline process owns. A run in progress is left alone.
pub async fn cleanup_all() -> ClusterResult<CleanupReport> {
    reap(&engine::connect().await?, Scope::Orphaned).await
}

/// Removes what the start of run `run_id` made, when that start was cut
/// short (Ctrl-C) before a cluster existed to shut down.
pub async fn cleanup_run(run_id: &str) -> ClusterResult<CleanupReport> {
    reap(&engine::connect().await?, Scope::Run(run_id)).await
}

pub(super) async fn reap(docker: &Docker, scope: Scope<'_>) -> ClusterResult<CleanupReport> {
    let filters = HashMap::from([("label".to_string(), vec![format!("{LABEL}=1")])]);
    let mut report = CleanupReport::default();
    let mut failures = Vec::new();

    let list = ListContainersOptions { all: true, filters: Some(filters.clone()), ..Default::default() };
    let containers = docker
        .list_containers(Some(list))
        .await
        .map_err(|source| ClusterError::Docker { what: "cannot list containers".into(), source: Box::new(source) })?;
    for c in containers {
        let (Some(id), Some(labels)) = (c.id, c.labels) else {
            continue;
        };
        if !doomed(scope, &labels) {
            continue;
        }
        let name = c.names.and_then(|n| n.first().map(|n| n.trim_start_matches('/').to_string())).unwrap_or(id.clone());
        match remove_container(docker, &id).await {
            Ok(()) => report.containers.push(name),
            Err(e) => failures.push(format!("container {name}: {e}")),
        }
    }

    let list = ListNetworksOptions { filters: Some(filters) };
    let networks = docker
        .list_networks(Some(list))
        .await
        .map_err(|source| ClusterError::Docker { what: "cannot list networks".into(), source: Box::new(source) })?;
    for n in networks {
        let (Some(id), Some(labels)) = (n.id, n.labels) else {
            continue;
        };
        if !doomed(scope, &labels) {
            continue;
        }
        let name = n.name.unwrap_or(id.clone());
        match remove_network(docker, &id).await {
            Ok(()) => report.networks.push(name),
            Err(e) => failures.push(format!("network {name}: {e}")),
        }
    }

    if failures.is_empty() {
        Ok(report)
    } else {
        Err(ClusterError::Cleanup { report, failures })
    }
}

/// Thaws a container a fault left paused, before it is removed (engines
/// differ on removing a frozen one). False when it is gone already.
pub(super) async fn thaw(docker: &Docker, id: &str) -> Result<bool, DockerError> {
    match docker.inspect_container(id, None).await {
        Ok(info) if info.state.as_ref().and_then(|s| s.paused) == Some(true) => {
            docker.unpause_container(id).await?;
            Ok(true)
        }
        Ok(_) => Ok(true),
        Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Force-removes a container with its anonymous volumes, thawed first; gone
/// already is fine.
async fn remove_container(docker: &Docker, id: &str) -> Result<(), DockerError> {
    if !thaw(docker, id).await? {
        return Ok(());
    }
    let opts = RemoveContainerOptions { force: true, v: true, ..Default::default() };
    match docker.remove_container(id, Some(opts)).await {
        Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
        other => other,
    }
}

pub(super) async fn remove_network(docker: &Docker, id: &str) -> Result<(), DockerError> {
    match docker.remove_network(id).await {
        Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
        other => other,
    }
}

fn doomed(scope: Scope, labels: &HashMap<String, String>) -> bool {
    if let Scope::Run(run) = scope {
        return labels.get(LABEL_RUN).is_some_and(|r| r == run);
    }
    match owner_alive(labels) {
        Some(alive) => !alive,
        None => scope == Scope::Orphaned,
    }
}

/// Whether the process named by the labels lives: None when the labels name
/// none. The start time, when recorded, guards against a reused pid.
fn owner_alive(labels: &HashMap<String, String>) -> Option<bool> {
    let pid: u32 = labels.get(LABEL_PID)?.parse().ok()?;
    Some(engine::same_process(pid, labels.get(LABEL_PID_START).map(String::as_str)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn judges_owners() {
        let me = std::process::id().to_string();
        let start = engine::process_start(std::process::id()).expect("own start time");
        let mine = labels(&[(LABEL_PID, &me), (LABEL_PID_START, &start)]);
        assert!(!doomed(Scope::Stale, &mine) && !doomed(Scope::Orphaned, &mine));

        // Same pid, another start time: the pid was reused, the owner is gone.
        let reused = labels(&[(LABEL_PID, &me), (LABEL_PID_START, "1")]);
        assert!(doomed(Scope::Stale, &reused));

        // No process has pid u32::MAX.
        let gone = labels(&[(LABEL_PID, "4294967295")]);
        assert!(doomed(Scope::Stale, &gone) && doomed(Scope::Orphaned, &gone));

        let unowned = labels(&[(LABEL, "1")]);
        assert!(!doomed(Scope::Stale, &unowned) && doomed(Scope::Orphaned, &unowned));

        // A run's own start, cut short: its objects go though their owner lives.
        let run = labels(&[(LABEL_PID, &me), (LABEL_PID_START, &start), (LABEL_RUN, "r1")]);
        assert!(doomed(Scope::Run("r1"), &run) && !doomed(Scope::Run("r2"), &run));
    }

    #[test]
    fn reports_read_well() {
        assert_eq!(CleanupReport::default().to_string(), "nothing to remove");
        let r = CleanupReport { containers: vec!["a".into()], networks: vec!["n1".into(), "n2".into()] };
        assert_eq!(r.to_string(), "removed 1 container(s) [a] and 2 network(s) [n1, n2]");
    }
}
