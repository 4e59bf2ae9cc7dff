//! The docker backend: Kafka (KRaft) or Redpanda brokers in containers, each
//! behind faultline's own proxy. testcontainers (`GenericImage`) creates,
//! starts, pauses, stops and removes the broker containers; bollard does
//! what it has no verb for: networks (create, connect, disconnect), SIGKILL,
//! inspect, logs, and reaping by label what an aborted run left (a
//! testcontainers handle removes its container on drop, which an aborted
//! process never reaches).
//!
//! Clients reach broker N as 127.0.0.1:<proxy port> → proxy → 127.0.0.1:<host
//! port> published by Docker → the container's 9092, and the broker
//! advertises the proxy's address, so clients never bypass the proxy.
//!
//! Two networks per run. The run network `faultline-<run>` is internal and
//! carries broker-to-broker traffic under the aliases kafka-N; isolating a
//! broker disconnects it from there. The published port lives on the
//! container's primary network `faultline-<run>-clients`: Docker moves
//! published ports to whichever network is the container's gateway, and an
//! internal network never is one, so a partition between brokers leaves the
//! clients' path alone. The client network forbids traffic between
//! containers, so it is no back door between brokers either.

mod cleanup;
mod engine;
mod probe;
mod spec;

pub use cleanup::{cleanup_all, cleanup_run, cleanup_stale, CleanupReport};
pub use engine::connect as docker_client;
pub(super) use engine::IMAGE_ENV;
pub(crate) use engine::{process_start, same_process};

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::models::{EndpointSettings, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest};
use bollard::query_parameters::KillContainerOptions;
use bollard::Docker;
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, TestcontainersError};
use tokio::sync::RwLockReadGuard;
use tokio::time::Instant;

use super::{Cluster, ClusterError, ClusterResult};
use crate::proxy::Proxy;
use crate::scenario::{ClusterSpec, CutMode, Flavor, RestartMode};

/// How long brokers get to show up in a metadata request.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// docker stop's grace before SIGKILL.
const STOP_GRACE_SECS: i32 = 30;
const PAUSE_TRIES: u32 = 5;
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
const LOG_TAIL: &str = "30";
/// Bridge option: whether containers on the network may talk to each other.
const ICC: &str = "com.docker.network.bridge.enable_icc";

/// A running docker cluster. Call [`Cluster::shutdown`], which removes the
/// networks too; dropping it only removes the
/// containers (testcontainers does, on drop), and `cleanup_stale` the rest
/// once this process has exited.
pub struct DockerCluster {
    docker: Docker,
    flavor: Flavor,
    image: String,
    run_network: String,
    client_network: String,
    /// The scenario's broker settings (Kafka).
    properties: BTreeMap<String, String>,
    brokers: Vec<Broker>,
    bootstrap: String,
    shut: AtomicBool,
}

struct Broker {
    id: u32,
    /// The container's name, for bollard.
    container: String,
    /// testcontainers' handle; taken at teardown to remove the container.
    /// Faults hold the read lock while they act, so removal waits for them.
    handle: tokio::sync::RwLock<Option<ContainerAsync<GenericImage>>>,
    /// kafka-N: the alias on the run network, and the log file's name.
    hostname: String,
    proxy: Proxy,
}

impl DockerCluster {
    /// Reaps leftovers of dead runs, then starts the brokers and waits until
    /// a metadata request through the proxies sees all of them. When that
    /// fails, the container logs go to `<logs_dir>/<hostname>.log`.
    pub async fn start(spec: &ClusterSpec, run_id: &str, logs_dir: &Path) -> ClusterResult<DockerCluster> {
        if !matches!(spec.brokers, 1 | 3) {
            return Err(ClusterError::BrokerCount { brokers: spec.brokers });
        }
        let docker = engine::connect().await?;
        match cleanup::reap(&docker, cleanup::Scope::Stale).await {
            Ok(r) if !r.is_empty() => tracing::info!("leftovers of earlier runs: {r}"),
            Ok(_) => {}
            Err(e) => tracing::warn!("cleanup of earlier runs: {e}"),
        }
        let local = engine::image_exists(&docker, engine::LOCAL_KAFKA_IMAGE).await?;
        let image = engine::choose_image(spec, std::env::var(engine::IMAGE_ENV).ok(), local);
        engine::ensure_image(&docker, &image).await?;

        let mut cluster = DockerCluster {
            docker,
            flavor: spec.flavor,
            image,
            run_network: format!("faultline-{run_id}"),
            client_network: format!("faultline-{run_id}-clients"),
            properties: spec.broker_properties.clone(),
            brokers: Vec::new(),
            bootstrap: String::new(),
            shut: AtomicBool::new(false),
        };
        let started = Instant::now();
        // Whatever was made before a failure is torn down again.
        if let Err(e) = cluster.launch(spec.brokers, run_id).await {
            if let Err(l) = cluster.save_logs(logs_dir, UNIX_EPOCH).await {
                tracing::warn!("{l}");
            }
            if let Err(t) = cluster.teardown().await {
                tracing::warn!("teardown after a failed start: {t}");
            }
            return Err(e);
        }
        tracing::info!("{} ready in {:.1?}", cluster.describe(), started.elapsed());
        Ok(cluster)
    }

    async fn launch(&mut self, brokers: u32, run_id: &str) -> ClusterResult<()> {
        let labels = engine::labels(run_id);
        self.create_network(&self.client_network, false, &labels).await?;
        self.create_network(&self.run_network, true, &labels).await?;
        let cluster_id = spec::cluster_id();
        let plan = spec::Plan {
            flavor: self.flavor,
            image: &self.image,
            brokers,
            cluster_id: &cluster_id,
            client_network: &self.client_network,
            labels: &labels,
            properties: &self.properties,
        };
        for (id, host_port) in (1..=brokers).zip(free_ports(brokers)?) {
            let upstream = SocketAddr::from((Ipv4Addr::LOCALHOST, host_port));
            let proxy = Proxy::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), upstream).await.map_err(|source| {
                ClusterError::Io { what: format!("cannot start the proxy for broker {id}"), source }
            })?;
            let node = spec::Node { id, host_port, proxy_port: proxy.addr().port() };
            let hostname = spec::hostname(self.flavor, id);
            let container = format!("faultline-{run_id}-{hostname}");
            let handle =
                spec::request(&plan, &node, &container).start().await.map_err(|source| ClusterError::Container {
                    what: format!("cannot start container {container}"),
                    source: Box::new(source),
                })?;
            let broker = Broker { id, container, handle: tokio::sync::RwLock::new(Some(handle)), hostname, proxy };
            // Peers find each other under their aliases on the run network;
            // KRaft retries until every voter resolves.
            self.join_run_network(&broker).await?;
            self.brokers.push(broker);
        }
        self.bootstrap = self.brokers.iter().map(|b| b.proxy.addr().to_string()).collect::<Vec<_>>().join(",");
        self.wait_ready(&(1..=brokers).collect::<Vec<_>>()).await
    }

    /// `for_brokers`: the run network, internal (never a gateway, so never
    /// where the published port goes). Otherwise the client network, which
    /// forbids container-to-container traffic so that it is no back door
    /// between brokers.
    async fn create_network(
        &self,
        name: &str,
        for_brokers: bool,
        labels: &HashMap<String, String>,
    ) -> ClusterResult<()> {
        let req = NetworkCreateRequest {
            name: name.into(),
            driver: Some("bridge".into()),
            internal: Some(for_brokers),
            labels: Some(labels.clone()),
            options: Some(HashMap::from([(ICC.to_string(), for_brokers.to_string())])),
            ..Default::default()
        };
        self.docker.create_network(req).await.map_err(|source| ClusterError::Docker {
            what: format!("cannot create network {name}"),
            source: Box::new(source),
        })?;
        Ok(())
    }

    async fn join_run_network(&self, b: &Broker) -> ClusterResult<()> {
        let req = NetworkConnectRequest {
            container: b.container.clone(),
            endpoint_config: Some(EndpointSettings { aliases: Some(vec![b.hostname.clone()]), ..Default::default() }),
        };
        self.docker.connect_network(&self.run_network, req).await.map_err(|source| ClusterError::Docker {
            what: format!("cannot connect {} to {}", b.container, self.run_network),
            source: Box::new(source),
        })
    }

    /// The testcontainers handle of a broker not yet torn down.
    async fn handle<'b>(&self, b: &'b Broker) -> ClusterResult<RwLockReadGuard<'b, ContainerAsync<GenericImage>>> {
        RwLockReadGuard::try_map(b.handle.read().await, Option::as_ref)
            .map_err(|_| ClusterError::Removed { container: b.container.clone() })
    }

    /// Removes a broker's container with its anonymous volumes, thawed
    /// first; gone already is fine.
    async fn remove(&self, b: &Broker) -> ClusterResult<()> {
        let Some(handle) = b.handle.write().await.take() else { return Ok(()) };
        if !cleanup::thaw(&self.docker, &b.container).await.map_err(docker_err("thaw", b))? {
            return Ok(());
        }
        handle.rm().await.map_err(container_err("remove", b))
    }

    fn broker(&self, id: u32) -> ClusterResult<&Broker> {
        self.brokers
            .iter()
            .find(|b| b.id == id)
            .ok_or(ClusterError::NoBroker { broker: id, brokers: self.brokers.len() })
    }

    /// Polls with a real metadata request through the proxies until the
    /// brokers `ids` are in the answer (registered and unfenced) and, when
    /// there are other brokers, until each of `ids` names the same partition
    /// leaders as they do; gives up early when one of their containers is
    /// not running. The first request goes to the other brokers: an isolated
    /// broker answers from a stale view that still holds itself, and keeps
    /// naming itself leader for a while after it is back.
    async fn wait_ready(&self, ids: &[u32]) -> ClusterResult<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let want: Vec<i32> = ids.iter().map(|&id| id as i32).collect();
        let others: Vec<String> =
            self.brokers.iter().filter(|b| !ids.contains(&b.id)).map(|b| b.proxy.addr().to_string()).collect();
        let via = if others.is_empty() { self.bootstrap.clone() } else { others.join(",") };
        loop {
            let seen = probe::metadata(&via, PROBE_TIMEOUT).await;
            if let Ok(md) = &seen {
                if want.iter().all(|w| md.brokers.contains(w)) && (others.is_empty() || self.agree(ids, md).await) {
                    return Ok(());
                }
            }
            for &id in ids {
                let b = self.broker(id)?;
                if let Some(why) = self.not_running(b).await? {
                    return Err(self.failure(format!("container {} is not running ({why})", b.container)).await);
                }
            }
            if Instant::now() >= deadline {
                let last = match seen {
                    Ok(md) => format!("metadata saw brokers {:?} of {want:?}", md.brokers),
                    Err(e) => format!("last metadata request: {e}"),
                };
                return Err(self.failure(format!("brokers not ready within {READY_TIMEOUT:?} ({last})")).await);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Whether each of the brokers `ids`, asked alone, names the same
    /// partition leaders as the rest of the `cluster` does.
    async fn agree(&self, ids: &[u32], cluster: &probe::Metadata) -> bool {
        for &id in ids {
            let Ok(b) = self.broker(id) else { return false };
            match probe::metadata(&b.proxy.addr().to_string(), PROBE_TIMEOUT).await {
                Ok(own) if own.leaders == cluster.leaders => {}
                _ => return false,
            }
        }
        true
    }

    /// None while the container runs, else its state ("exited, code 1").
    async fn not_running(&self, b: &Broker) -> ClusterResult<Option<String>> {
        let info = self.docker.inspect_container(&b.container, None).await.map_err(|source| ClusterError::Docker {
            what: format!("cannot inspect {}", b.container),
            source: Box::new(source),
        })?;
        let state = info.state.unwrap_or_default();
        if state.running == Some(true) {
            return Ok(None);
        }
        let status = state.status.map_or_else(|| "unknown".to_string(), |s| s.to_string());
        Ok(Some(format!("{status}, exit code {}", state.exit_code.unwrap_or_default())))
    }

    /// An error that carries the last log lines of every broker; the full
    /// logs go to the run folder's logs/ when the run ends.
    async fn failure(&self, what: String) -> ClusterError {
        let mut logs = String::new();
        for b in &self.brokers {
            let tail = engine::logs(&self.docker, &b.container, LOG_TAIL, 0).await.unwrap_or_else(|e| e.to_string());
            let tail = if tail.trim().is_empty() { "(no output)" } else { tail.trim_end() };
            logs.push_str(&format!("\n--- last lines of {} ---\n{tail}", b.hostname));
        }
        ClusterError::NotReady { what, logs }
    }

    /// Removes containers and networks, stops the proxies. Keeps going past
    /// errors so that as much as possible is gone.
    async fn teardown(&self) -> ClusterResult<()> {
        let mut errors = Vec::new();
        for b in &self.brokers {
            b.proxy.stop();
            if let Err(e) = self.remove(b).await {
                errors.push(format!("container {}: {e}", b.container));
            }
        }
        for net in [&self.run_network, &self.client_network] {
            if let Err(e) = cleanup::remove_network(&self.docker, net).await {
                errors.push(format!("network {net}: {e}"));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ClusterError::Teardown(errors))
        }
    }
}

/// A failed bollard request on broker `b`: "cannot `verb` <container> (broker N)".
fn docker_err(verb: &str, b: &Broker) -> impl FnOnce(bollard::errors::Error) -> ClusterError {
    let what = format!("cannot {verb} {} (broker {})", b.container, b.id);
    move |source| ClusterError::Docker { what, source: Box::new(source) }
}

/// The same through a testcontainers handle.
fn container_err(verb: &str, b: &Broker) -> impl FnOnce(TestcontainersError) -> ClusterError {
    let what = format!("cannot {verb} {} (broker {})", b.container, b.id);
    move |source| ClusterError::Container { what, source: Box::new(source) }
}

/// Ports free on 127.0.0.1 right now, all distinct: the listeners are held
/// until every port is known. Docker binds them moments later.
fn free_ports(n: u32) -> ClusterResult<Vec<u16>> {
    let no_port = |source| ClusterError::Io { what: "no free port on 127.0.0.1".into(), source };
    let held = (0..n)
        .map(|_| std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(no_port)?;
    held.iter().map(|l| l.local_addr().map(|a| a.port())).collect::<std::io::Result<Vec<_>>>().map_err(no_port)
}

#[async_trait::async_trait]
impl Cluster for DockerCluster {
    fn describe(&self) -> String {
        let flavor = match self.flavor {
            Flavor::Kafka => "kafka",
            Flavor::Redpanda => "redpanda",
        };
        let n = self.brokers.len();
        format!("docker {flavor} ({}), {n} broker{}", self.image, if n == 1 { "" } else { "s" })
    }

    fn bootstrap(&self) -> String {
        self.bootstrap.clone()
    }

    async fn create_topic(&self, name: &str, partitions: u32, replication: u32) -> ClusterResult<()> {
        probe::create_topic(&self.bootstrap, name, partitions, replication).await
    }

    /// cgroup freeze: sockets stay open, requests hang. runc's cgroup-v1
    /// freezer gives up ("unable to freeze") when a busy JVM does not
    /// freeze in time, as on a loaded machine; another try then succeeds.
    async fn pause_broker(&self, broker: u32, _hint: Duration) -> ClusterResult<()> {
        let b = self.broker(broker)?;
        let handle = self.handle(b).await?;
        let mut attempt = 1;
        loop {
            match handle.pause().await {
                Err(e) if attempt < PAUSE_TRIES && e.to_string().contains("unable to freeze") => {
                    tracing::warn!("pausing broker {broker}, try {attempt}: {e}");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                result => return result.map_err(container_err("pause", b)),
            }
        }
    }

    async fn resume_broker(&self, broker: u32) -> ClusterResult<()> {
        let b = self.broker(broker)?;
        self.handle(b).await?.unpause().await.map_err(container_err("unpause", b))
    }

    async fn stop_broker(&self, broker: u32, mode: RestartMode) -> ClusterResult<()> {
        let b = self.broker(broker)?;
        match mode {
            RestartMode::Graceful => {
                self.handle(b).await?.stop_with_timeout(Some(STOP_GRACE_SECS)).await.map_err(container_err("stop", b))
            }
            RestartMode::Hard => {
                let opts = KillContainerOptions { signal: "SIGKILL".into() };
                self.docker.kill_container(&b.container, Some(opts)).await.map_err(docker_err("kill", b))
            }
        }
    }

    /// Same container, so the same host port and the data it had.
    async fn start_broker(&self, broker: u32) -> ClusterResult<()> {
        let b = self.broker(broker)?;
        self.handle(b).await?.start().await.map_err(container_err("start", b))?;
        self.wait_ready(&[broker]).await
    }

    async fn cut_network(&self, broker: u32, mode: CutMode) -> ClusterResult<()> {
        let proxy = &self.broker(broker)?.proxy;
        match mode {
            CutMode::Blackhole => proxy.blackhole(),
            CutMode::Reset => proxy.reset(),
        }
        Ok(())
    }

    async fn heal_network(&self, broker: u32) -> ClusterResult<()> {
        self.broker(broker)?.proxy.heal();
        Ok(())
    }

    async fn isolate_broker(&self, broker: u32) -> ClusterResult<()> {
        let b = self.broker(broker)?;
        let req = NetworkDisconnectRequest { container: b.container.clone(), force: Some(true) };
        self.docker.disconnect_network(&self.run_network, req).await.map_err(docker_err("isolate", b))
    }

    /// Back on the run network under its alias; returns once the broker is
    /// in the metadata again (the controller unfenced it).
    async fn rejoin_broker(&self, broker: u32) -> ClusterResult<()> {
        self.join_run_network(self.broker(broker)?).await?;
        self.wait_ready(&[broker]).await
    }

    async fn save_logs(&self, dir: &Path, since: SystemTime) -> ClusterResult<()> {
        // Whole seconds: a second before the run may show up too.
        let since = since.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i32);
        let mut errors = Vec::new();
        for b in &self.brokers {
            let file = dir.join(format!("{}.log", b.hostname));
            if let Err(e) = engine::save_logs(&self.docker, &b.container, &file, since).await {
                errors.push(e.to_string());
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ClusterError::Logs(errors))
        }
    }

    async fn shutdown(&self) -> ClusterResult<()> {
        if self.shut.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.teardown().await
    }
}
