//! Talking to the Docker engine: connecting across API versions, labels,
//! images and logs. Shared by the backend and the cleanup.

use std::collections::HashMap;
use std::path::Path;

use bollard::errors::Error as DockerError;
use bollard::query_parameters::{CreateImageOptions, LogsOptions};
use bollard::{ClientVersion, Docker};
use futures::StreamExt;

use crate::cluster::{ClusterError, ClusterResult};
use crate::scenario::{ClusterSpec, Flavor};

pub(super) const KAFKA_IMAGE: &str = "apache/kafka:4.1.1";
/// Built by docker/setup.sh where no registry is reachable.
pub(super) const LOCAL_KAFKA_IMAGE: &str = "faultline/kafka:4.1.1";
pub(super) const REDPANDA_IMAGE: &str = "redpandadata/redpanda:v24.2.7";
/// Overrides the Kafka image (not Redpanda's); the scenario's `image` wins.
pub(in crate::cluster) const IMAGE_ENV: &str = "FAULTLINE_KAFKA_IMAGE";

pub(super) const LABEL: &str = "faultline";
pub(super) const LABEL_RUN: &str = "faultline.run";
pub(super) const LABEL_PID: &str = "faultline.pid";
/// The harness process's start time (clock ticks after boot, from
/// /proc/<pid>/stat): with the pid it names the process even after the
/// pid is reused.
pub(super) const LABEL_PID_START: &str = "faultline.pid.start";

/// Connects to the engine (DOCKER_HOST if it is a unix socket, else
/// /var/run/docker.sock) and settles on an API version it speaks. bollard
/// 0.21.1 asks for /v1.53; older engines (Debian's 20.10 speaks 1.41)
/// answer 400 "client version 1.53 is too new. Maximum supported API
/// version is 1.41", and we reconnect with the version they name.
pub async fn connect() -> ClusterResult<Docker> {
    let host = std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| h.starts_with("unix://"))
        .unwrap_or_else(|| "unix:///var/run/docker.sock".into());
    let unreachable = |source| ClusterError::DockerUnreachable { host: host.clone(), source: Box::new(source) };
    let docker = Docker::connect_with_local(&host, 120, bollard::API_DEFAULT_VERSION).map_err(unreachable)?;
    match docker.version().await {
        Ok(_) => Ok(docker),
        Err(e) => match engine_max_version(&e) {
            Some(version) => {
                let docker = Docker::connect_with_local(&host, 120, &version).map_err(unreachable)?;
                docker.version().await.map_err(unreachable)?;
                Ok(docker)
            }
            None => Err(unreachable(e)),
        },
    }
}

/// The newest API version an engine says it speaks when it refuses ours.
fn engine_max_version(e: &DockerError) -> Option<ClientVersion> {
    match e {
        DockerError::DockerResponseServerError { status_code: 400, message } => max_api_version(message),
        _ => None,
    }
}

/// "... Maximum supported API version is 1.41" → 1.41.
fn max_api_version(message: &str) -> Option<ClientVersion> {
    let (_, tail) = message.rsplit_once("Maximum supported API version is ")?;
    let (major, minor) = tail.trim().split_once('.')?;
    Some(ClientVersion { major_version: major.parse().ok()?, minor_version: minor.parse().ok()? })
}

/// Labels on every container and network of a run: enough to find them
/// again and to tell whether the process that made them is still alive.
pub(super) fn labels(run_id: &str) -> HashMap<String, String> {
    let pid = std::process::id();
    let mut labels = HashMap::from([
        (LABEL.to_string(), "1".to_string()),
        (LABEL_RUN.to_string(), run_id.to_string()),
        (LABEL_PID.to_string(), pid.to_string()),
    ]);
    if let Some(start) = process_start(pid) {
        labels.insert(LABEL_PID_START.to_string(), start);
    }
    labels
}

/// Field 22 of /proc/<pid>/stat: when the process started. The command
/// name (field 2) may hold spaces and parentheses, so count from its end.
pub(crate) fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(19).map(str::to_string)
}

/// Whether `pid` is alive and, when its start time was recorded, still the
/// process that started then (a pid can be reused by another).
pub(crate) fn same_process(pid: u32, start: Option<&str>) -> bool {
    match (process_start(pid), start) {
        (None, _) => false,
        (Some(now), Some(then)) => now == then,
        (Some(_), None) => true,
    }
}

/// The scenario's image, else FAULTLINE_KAFKA_IMAGE, else the locally
/// built Kafka image when it exists, else the official one.
pub(super) fn choose_image(spec: &ClusterSpec, env: Option<String>, local_kafka_exists: bool) -> String {
    if let Some(image) = &spec.image {
        return image.clone();
    }
    match spec.flavor {
        Flavor::Redpanda => REDPANDA_IMAGE.into(),
        Flavor::Kafka => match env.filter(|e| !e.trim().is_empty()) {
            Some(image) => image,
            None if local_kafka_exists => LOCAL_KAFKA_IMAGE.into(),
            None => KAFKA_IMAGE.into(),
        },
    }
}

pub(super) async fn image_exists(docker: &Docker, image: &str) -> ClusterResult<bool> {
    match docker.inspect_image(image).await {
        Ok(_) => Ok(true),
        Err(DockerError::DockerResponseServerError { status_code: 404, .. }) => Ok(false),
        Err(source) => {
            Err(ClusterError::Docker { what: format!("cannot inspect image {image}"), source: Box::new(source) })
        }
    }
}

/// Pulls `image` unless it is already there: a local image is never pulled.
pub(super) async fn ensure_image(docker: &Docker, image: &str) -> ClusterResult<()> {
    if image_exists(docker, image).await? {
        return Ok(());
    }
    tracing::info!("pulling {image}");
    let opts = CreateImageOptions { from_image: Some(image.to_string()), ..Default::default() };
    let mut pull = docker.create_image(Some(opts), None, None);
    while let Some(progress) = pull.next().await {
        if let Err(source) = progress {
            return Err(ClusterError::ImageMissing { image: image.to_string(), source: Box::new(source) });
        }
    }
    Ok(())
}

/// The container's output: the last `tail` lines ("all" for every line),
/// from `since` on (UNIX seconds; 0 for the beginning).
pub(super) async fn logs(docker: &Docker, container: &str, tail: &str, since: i32) -> ClusterResult<String> {
    let opts = LogsOptions { stdout: true, stderr: true, tail: tail.to_string(), since, ..Default::default() };
    let mut stream = docker.logs(container, Some(opts));
    let mut out = String::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|source| ClusterError::Docker {
            what: format!("cannot read the logs of {container}"),
            source: Box::new(source),
        })?;
        out.push_str(&chunk.to_string());
    }
    Ok(out)
}

pub(super) async fn save_logs(docker: &Docker, container: &str, file: &Path, since: i32) -> ClusterResult<()> {
    let text = logs(docker, container, "all", since).await?;
    std::fs::write(file, text)
        .map_err(|source| ClusterError::Io { what: format!("cannot write {}", file.display()), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_engine_maximum() {
        let v =
            max_api_version("client version 1.53 is too new. Maximum supported API version is 1.41").expect("parsed");
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        assert!(max_api_version("page not found").is_none());
    }

    #[test]
    fn image_precedence() {
        let mut spec = ClusterSpec::default();
        assert_eq!(choose_image(&spec, None, false), KAFKA_IMAGE);
        assert_eq!(choose_image(&spec, None, true), LOCAL_KAFKA_IMAGE);
        assert_eq!(choose_image(&spec, Some("my/kafka:1".into()), true), "my/kafka:1");
        spec.flavor = Flavor::Redpanda;
        assert_eq!(choose_image(&spec, Some("my/kafka:1".into()), true), REDPANDA_IMAGE);
        spec.image = Some("mine:2".into());
        assert_eq!(choose_image(&spec, Some("my/kafka:1".into()), true), "mine:2");
    }

    #[test]
    fn labels_name_this_process() {
        let l = labels("r1");
        assert_eq!(l[LABEL], "1");
        assert_eq!(l[LABEL_RUN], "r1");
        assert_eq!(l[LABEL_PID], std::process::id().to_string());
        assert_eq!(l.get(LABEL_PID_START), process_start(std::process::id()).as_ref());
        assert!(l.contains_key(LABEL_PID_START));
    }
}
