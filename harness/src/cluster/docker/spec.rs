//! What each broker container looks like, as pure functions of the plan so
//! the settings can be checked without Docker (Redpanda cannot be pulled
//! on our machines, so its settings are only tested here).

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use bollard::models::{PortBinding, PortMap};
use testcontainers::core::{ContainerPort, ImageExt};
use testcontainers::{ContainerRequest, GenericImage};

use crate::scenario::Flavor;

/// The client listener inside every container; published on 127.0.0.1.
pub(super) const CLIENT_PORT: &str = "9092/tcp";
const KAFKA_INTERNAL_PORT: u16 = 19092;
const KAFKA_CONTROLLER_PORT: u16 = 9093;
const REDPANDA_INTERNAL_PORT: u16 = 29092;
const REDPANDA_RPC_PORT: u16 = 33145;

/// One cluster's shape, shared by its brokers.
pub(super) struct Plan<'a> {
    pub flavor: Flavor,
    pub image: &'a str,
    pub brokers: u32,
    /// Kafka only: every node of a KRaft cluster is formatted with it.
    pub cluster_id: &'a str,
    /// The network that carries the published port (see mod.rs).
    pub client_network: &'a str,
    pub labels: &'a HashMap<String, String>,
    /// Broker settings from the scenario; they win over the defaults below.
    pub properties: &'a BTreeMap<String, String>,
}

/// One broker: `host_port` is where Docker publishes its client listener,
/// `proxy_port` what it advertises (the proxy in front of `host_port`).
pub(super) struct Node {
    pub id: u32,
    pub host_port: u16,
    pub proxy_port: u16,
}

/// kafka-N / redpanda-N: the alias brokers know each other by on the run
/// network (and only there), and the log file's name.
pub(super) fn hostname(flavor: Flavor, id: u32) -> String {
    match flavor {
        Flavor::Kafka => format!("kafka-{id}"),
        Flavor::Redpanda => format!("redpanda-{id}"),
    }
}

/// A single node talks to itself over localhost, so it does not depend on
/// the run network at all.
fn peer_host(plan: &Plan, id: u32) -> String {
    if plan.brokers == 1 {
        "localhost".into()
    } else {
        hostname(plan.flavor, id)
    }
}

/// The broker's container as a testcontainers request. testcontainers
/// binds mapped ports on every interface; the host-config modifier (applied
/// last) puts them back on 127.0.0.1 only. No hostname: Docker would make
/// it a DNS name on the client network too, and peers would reach an
/// isolated broker through it.
pub(super) fn request(plan: &Plan, node: &Node, name: &str) -> ContainerRequest<GenericImage> {
    let (repo, tag) = match plan.image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (plan.image, "latest"),
    };
    let mut req = GenericImage::new(repo, tag)
        .with_container_name(name)
        .with_network(plan.client_network)
        .with_labels(plan.labels.clone())
        .with_mapped_port(node.host_port, ContainerPort::Tcp(9092));
    match plan.flavor {
        Flavor::Kafka => {
            for (k, v) in kafka_env(plan, node) {
                req = req.with_env_var(k, v);
            }
        }
        Flavor::Redpanda => req = req.with_cmd(redpanda_cmd(plan, node)),
    }
    let bindings = port_bindings(node);
    req.with_host_config_modifier(move |host| host.port_bindings = Some(bindings.clone()))
}

/// The client listener published on 127.0.0.1 only, at an explicit host
/// port: one survives stop/start, a random one would not.
fn port_bindings(node: &Node) -> PortMap {
    let binding = PortBinding { host_ip: Some("127.0.0.1".into()), host_port: Some(node.host_port.to_string()) };
    HashMap::from([(CLIENT_PORT.into(), Some(vec![binding]))])
}

/// The official apache/kafka image's convention (faultline/kafka follows
/// it): KAFKA_FOO_BAR becomes foo.bar. Combined broker+controller nodes.
fn kafka_env(plan: &Plan, node: &Node) -> Vec<(String, String)> {
    let n = plan.brokers;
    let rf = n.min(3);
    let min_isr = if rf >= 3 { 2 } else { 1 };
    let voters: Vec<String> = (1..=n).map(|i| format!("{i}@{}:{KAFKA_CONTROLLER_PORT}", peer_host(plan, i))).collect();
    let defaults: Vec<(&str, String)> = vec![
        ("CLUSTER_ID", plan.cluster_id.to_string()),
        ("KAFKA_NODE_ID", node.id.to_string()),
        ("KAFKA_PROCESS_ROLES", "broker,controller".into()),
        ("KAFKA_CONTROLLER_QUORUM_VOTERS", voters.join(",")),
        ("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER".into()),
        (
            "KAFKA_LISTENERS",
            format!("PLAINTEXT://0.0.0.0:9092,INTERNAL://0.0.0.0:{KAFKA_INTERNAL_PORT},CONTROLLER://0.0.0.0:{KAFKA_CONTROLLER_PORT}"),
        ),
        // Clients only ever learn the proxy's address.
        (
            "KAFKA_ADVERTISED_LISTENERS",
            format!("PLAINTEXT://127.0.0.1:{},INTERNAL://{}:{KAFKA_INTERNAL_PORT}", node.proxy_port, peer_host(plan, node.id)),
        ),
        ("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT".into()),
        ("KAFKA_INTER_BROKER_LISTENER_NAME", "INTERNAL".into()),
        ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", rf.to_string()),
        ("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", rf.to_string()),
        ("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", min_isr.to_string()),
        ("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", rf.to_string()),
        ("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", min_isr.to_string()),
        ("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0".into()),
        ("KAFKA_HEAP_OPTS", "-Xms512m -Xmx512m".into()),
        // A paused node freezes its controller with its broker; on thaw the
        // controller fences its own broker if the last heartbeat is older
        // than broker.session.timeout.ms (9 s), and moves every coordinator.
        // Frequent heartbeats keep a pause of up to ~8 s clear of that.
        ("KAFKA_BROKER_HEARTBEAT_INTERVAL_MS", "500".into()),
        // KIP-848: the broker owns the session. Its lower bounds (45 s, 5 s
        // by default) would keep every scenario from a 6-10 s session;
        // the sessions themselves stay at Kafka's defaults unless the
        // scenario's broker_properties set them.
        ("KAFKA_GROUP_CONSUMER_MIN_SESSION_TIMEOUT_MS", "1000".into()),
        ("KAFKA_GROUP_CONSUMER_MIN_HEARTBEAT_INTERVAL_MS", "250".into()),
    ];
    let set: Vec<(String, String)> = plan.properties.iter().map(|(k, v)| (property_env(k), v.clone())).collect();
    let mut env: Vec<(String, String)> = defaults
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .filter(|(k, _)| !set.iter().any(|(s, _)| s == k))
        .collect();
    env.extend(set);
    env
}

/// The image's variable for a broker property, as the official image's
/// env_to_props reads it back: `_` is `__`, `-` is `___`, `.` is `_`.
pub(crate) fn property_env(name: &str) -> String {
    format!("KAFKA_{}", name.replace('_', "__").replace('-', "___").replace('.', "_").to_uppercase())
}

/// Redpanda's own flags; dev-container mode drops the rebalance delay and
/// fsync, as the Kafka settings above do for their part. No value holds a
/// space, so the line is simply split.
fn redpanda_cmd(plan: &Plan, node: &Node) -> Vec<String> {
    let (id, me, proxy) = (node.id, peer_host(plan, node.id), node.proxy_port);
    let mut cmd = format!(
        "redpanda start --mode dev-container --smp 1 --memory 1G --node-id {id} \
         --kafka-addr INTERNAL://0.0.0.0:{REDPANDA_INTERNAL_PORT},EXTERNAL://0.0.0.0:9092 \
         --advertise-kafka-addr INTERNAL://{me}:{REDPANDA_INTERNAL_PORT},EXTERNAL://127.0.0.1:{proxy}"
    );
    if plan.brokers > 1 {
        let seeds: Vec<String> =
            (1..=plan.brokers).map(|i| format!("{}:{REDPANDA_RPC_PORT}", peer_host(plan, i))).collect();
        cmd += &format!(
            " --rpc-addr 0.0.0.0:{REDPANDA_RPC_PORT} --advertise-rpc-addr {me}:{REDPANDA_RPC_PORT} --seeds {}",
            seeds.join(",")
        );
    }
    cmd.split_whitespace().map(String::from).collect()
}

/// A KRaft cluster id as `kafka-storage random-uuid` makes one: 16 random
/// bytes in URL-safe base64 without padding, never starting with '-'
/// (it would read as a command-line flag).
pub(super) fn cluster_id() -> String {
    loop {
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
        if !id.starts_with('-') {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::HostConfig;

    fn plan<'a>(flavor: Flavor, brokers: u32, labels: &'a HashMap<String, String>) -> Plan<'a> {
        static NONE: BTreeMap<String, String> = BTreeMap::new();
        Plan {
            flavor,
            image: "img:1",
            brokers,
            cluster_id: "AAAAAAAAAAAAAAAAAAAAAA",
            client_network: "net-c",
            labels,
            properties: &NONE,
        }
    }

    fn node(id: u32) -> Node {
        Node { id, host_port: 40000 + id as u16, proxy_port: 41000 + id as u16 }
    }

    fn env_of(req: &ContainerRequest<GenericImage>) -> HashMap<String, String> {
        req.env_vars().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    }

    fn cmd_of(req: &ContainerRequest<GenericImage>) -> String {
        req.cmd().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn broker_properties_become_the_images_variables_and_win_over_defaults() {
        assert_eq!(property_env("group.consumer.session.timeout.ms"), "KAFKA_GROUP_CONSUMER_SESSION_TIMEOUT_MS");
        assert_eq!(property_env("a_b-c.d"), "KAFKA_A__B___C_D", "read back as a_b-c.d by env_to_props");
        let labels = HashMap::new();
        let properties = BTreeMap::from([
            ("group.consumer.session.timeout.ms".to_string(), "6000".to_string()),
            ("group.initial.rebalance.delay.ms".to_string(), "3000".to_string()),
        ]);
        let plan = Plan { properties: &properties, ..plan(Flavor::Kafka, 1, &labels) };
        let req = request(&plan, &node(1), "n");
        let env: Vec<(String, String)> = req.env_vars().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let of = |name: &str| env.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
        assert_eq!(of("KAFKA_GROUP_CONSUMER_SESSION_TIMEOUT_MS"), ["6000"]);
        assert_eq!(of("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"), ["3000"], "the scenario's value, once");
        assert_eq!(of("KAFKA_GROUP_CONSUMER_MIN_SESSION_TIMEOUT_MS"), ["1000"], "KIP-848 bounds lowered");
    }

    #[test]
    fn kafka_three_nodes() {
        let labels = HashMap::from([("faultline.run".to_string(), "r1".to_string())]);
        let plan = plan(Flavor::Kafka, 3, &labels);
        let req = request(&plan, &node(2), "faultline-r1-kafka-2");
        let env = env_of(&req);
        assert_eq!(env["KAFKA_NODE_ID"], "2");
        assert_eq!(env["CLUSTER_ID"], "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(env["KAFKA_CONTROLLER_QUORUM_VOTERS"], "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093");
        assert_eq!(env["KAFKA_ADVERTISED_LISTENERS"], "PLAINTEXT://127.0.0.1:41002,INTERNAL://kafka-2:19092");
        assert_eq!(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"], "3");
        assert_eq!(env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"], "3");
        assert_eq!(env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"], "2");
        assert_eq!(req.descriptor(), "img:1");
        assert_eq!(req.container_name().as_deref(), Some("faultline-r1-kafka-2"));
        assert!(req.hostname().is_none(), "a hostname would be resolvable on the client network");
        assert_eq!(req.network().as_deref(), Some("net-c"));
        assert_eq!(req.labels().get("faultline.run").map(String::as_str), Some("r1"));
        assert_eq!(req.cmd().count(), 0);
        let ports = req.ports().expect("mapped port");
        assert_eq!((ports[0].host_port(), ports[0].container_port()), (40002, ContainerPort::Tcp(9092)));
        // Whatever testcontainers binds, the modifier leaves 127.0.0.1 only.
        let mut host = HostConfig::default();
        (req.host_config_modifier().expect("modifier"))(&mut host);
        let bindings = host.port_bindings.expect("bindings");
        assert_eq!(bindings.len(), 1);
        let binding = &bindings[CLIENT_PORT].clone().expect("binding")[0];
        assert_eq!(binding.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(binding.host_port.as_deref(), Some("40002"));
    }

    #[test]
    fn kafka_single_node_talks_to_itself_on_localhost() {
        let labels = HashMap::new();
        let env = env_of(&request(&plan(Flavor::Kafka, 1, &labels), &node(1), "n"));
        assert_eq!(env["KAFKA_CONTROLLER_QUORUM_VOTERS"], "1@localhost:9093");
        assert_eq!(env["KAFKA_ADVERTISED_LISTENERS"], "PLAINTEXT://127.0.0.1:41001,INTERNAL://localhost:19092");
        assert_eq!(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"], "1");
        assert_eq!(env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"], "1");
        assert_eq!(env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"], "0");
        assert_eq!(env["KAFKA_BROKER_HEARTBEAT_INTERVAL_MS"], "500");
    }

    #[test]
    fn redpanda_three_nodes() {
        let labels = HashMap::new();
        let req = request(&plan(Flavor::Redpanda, 3, &labels), &node(3), "n");
        assert!(env_of(&req).is_empty());
        assert_eq!(
            cmd_of(&req),
            "redpanda start --mode dev-container --smp 1 --memory 1G --node-id 3 \
             --kafka-addr INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:9092 \
             --advertise-kafka-addr INTERNAL://redpanda-3:29092,EXTERNAL://127.0.0.1:41003 \
             --rpc-addr 0.0.0.0:33145 --advertise-rpc-addr redpanda-3:33145 \
             --seeds redpanda-1:33145,redpanda-2:33145,redpanda-3:33145"
        );
        let ports = req.ports().expect("mapped port");
        assert_eq!((ports[0].host_port(), ports[0].container_port()), (40003, ContainerPort::Tcp(9092)));
    }

    #[test]
    fn redpanda_single_node_has_no_seeds() {
        let labels = HashMap::new();
        let cmd = cmd_of(&request(&plan(Flavor::Redpanda, 1, &labels), &node(1), "n"));
        assert!(cmd.ends_with("--advertise-kafka-addr INTERNAL://localhost:29092,EXTERNAL://127.0.0.1:41001"), "{cmd}");
    }

    #[test]
    fn cluster_ids_look_like_kafkas() {
        for _ in 0..100 {
            let id = cluster_id();
            assert_eq!(id.len(), 22);
            assert!(!id.starts_with('-'));
            assert!(id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        }
    }
}
