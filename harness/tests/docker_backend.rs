//! The docker backend against real brokers. These need dockerd and the Kafka
//! image (`sudo bash docker/setup.sh`); without them they fail, loudly: a
//! skipped fault test would pass CI while proving nothing.
//!
//! One cluster per test, shared by its assertions, to keep the run short.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions};
use faultline::cluster::{docker_client, Cluster, DockerCluster};
use faultline::scenario::{Backend, ClusterSpec, CutMode, RestartMode};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

fn spec(brokers: u32) -> ClusterSpec {
    ClusterSpec { backend: Backend::Docker, brokers, ..ClusterSpec::default() }
}

fn run_id(name: &str) -> String {
    format!("test-{name}-{:04x}", rand::random::<u16>())
}

async fn start(brokers: u32, run_id: &str, dir: &Path) -> DockerCluster {
    let t = Instant::now();
    let cluster = match DockerCluster::start(&spec(brokers), run_id, dir).await {
        Ok(c) => c,
        Err(e) => panic!("the docker backend did not start ({brokers} broker(s)); is dockerd up and the image built (sudo bash docker/setup.sh)?\n{e}"),
    };
    eprintln!("[figure] {brokers}-node cluster ready in {:.1?}", t.elapsed());
    cluster
}

fn client(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap);
    c
}

/// A fresh client's metadata request: Ok(broker ids) or the error, and how long it took.
async fn metadata(bootstrap: &str, timeout: Duration) -> (Result<Vec<i32>, String>, Duration) {
    let config = client(bootstrap);
    tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        let r = config
            .create::<BaseConsumer>()
            .and_then(|c| c.fetch_metadata(None, timeout))
            .map(|md| md.brokers().iter().map(|b| b.id()).collect())
            .map_err(|e| e.to_string());
        (r, t.elapsed())
    })
    .await
    .expect("metadata task")
}

/// Produces `values` with acks=all; returns (partition, offset) per record.
async fn produce(bootstrap: &str, topic: &str, values: &[String]) -> Vec<(i32, i64)> {
    let producer: FutureProducer = client(bootstrap)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("request.timeout.ms", "10000")
        .set("message.timeout.ms", "120000")
        .create()
        .expect("producer");
    let sends = values.iter().map(|v| {
        let producer = &producer;
        async move {
            let record = FutureRecord::<str, str>::to(topic).key(v.as_str()).payload(v.as_str());
            let d =
                producer.send(record, Duration::from_secs(120)).await.map_err(|(e, _)| e).expect("record acknowledged");
            (d.partition, d.offset)
        }
    });
    futures::future::join_all(sends).await
}

/// Every record from the beginning of each partition up to its high
/// watermark: (partition, offset) → value.
async fn read_all(bootstrap: &str, topic: &str, partitions: i32) -> HashMap<(i32, i64), String> {
    let (config, topic) = (client(bootstrap), topic.to_string());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer =
            config.clone().set("group.id", "faultline-test-reader").create().expect("consumer");
        let mut tpl = TopicPartitionList::new();
        let mut remaining = 0;
        let mut ends = HashMap::new();
        for p in 0..partitions {
            let (_, high) = consumer.fetch_watermarks(&topic, p, Duration::from_secs(30)).expect("watermarks");
            ends.insert(p, high);
            remaining += usize::from(high > 0);
            tpl.add_partition_offset(&topic, p, Offset::Beginning).expect("tpl");
        }
        consumer.assign(&tpl).expect("assign");
        let mut seen = HashMap::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while remaining > 0 {
            assert!(Instant::now() < deadline, "read-back did not reach the high watermarks {ends:?}");
            let Some(m) = consumer.poll(Duration::from_millis(500)) else {
                continue;
            };
            let m = m.expect("consume");
            let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
            seen.insert((m.partition(), m.offset()), value);
            if m.offset() + 1 == ends[&m.partition()] {
                remaining -= 1;
            }
        }
        seen
    })
    .await
    .expect("read task")
}

/// A Kafka Metadata v4 request for all topics on a raw socket: Ok once the
/// answer's correlation id comes back, Err on reset, EOF or timeout. Raw,
/// because librdkafka hides the difference: it waits out its timeout for a
/// usable broker whether connections are reset or hang.
fn raw_metadata(addr: SocketAddr, timeout: Duration) -> (Result<(), String>, Duration) {
    let t = Instant::now();
    let r = (|| {
        let mut s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
        let mut req = Vec::new();
        req.extend(3i16.to_be_bytes()); // api key: Metadata
        req.extend(4i16.to_be_bytes()); // version
        req.extend(7i32.to_be_bytes()); // correlation id
        req.extend(2i16.to_be_bytes()); // client id
        req.extend(b"fl");
        req.extend((-1i32).to_be_bytes()); // topics: null = all
        req.push(0); // allow auto topic creation: no
        let mut frame = (req.len() as i32).to_be_bytes().to_vec();
        frame.extend(req);
        s.write_all(&frame).map_err(|e| e.to_string())?;
        let mut head = [0u8; 8];
        s.read_exact(&mut head).map_err(|e| e.to_string())?;
        match i32::from_be_bytes([head[4], head[5], head[6], head[7]]) {
            7 => Ok(()),
            other => Err(format!("correlation id {other}")),
        }
    })();
    (r, t.elapsed())
}

/// Containers and networks that carry the run's label.
async fn labelled(run_id: &str) -> (Vec<bollard::models::ContainerSummary>, Vec<bollard::models::Network>) {
    common::docker_labelled(&format!("faultline.run={run_id}")).await
}

/// How many containers and networks still carry the run's label.
async fn leftovers(run_id: &str) -> (usize, usize) {
    let (containers, networks) = labelled(run_id).await;
    (containers.len(), networks.len())
}

async fn assert_labelled(run_id: &str, containers: usize) {
    let (list, networks) = labelled(run_id).await;
    assert_eq!(list.len(), containers);
    assert_eq!(networks.len(), 2, "run network and client network");
    let pid = std::process::id().to_string();
    for labels in list.into_iter().filter_map(|c| c.labels).chain(networks.into_iter().filter_map(|n| n.labels)) {
        assert_eq!(labels.get("faultline").map(String::as_str), Some("1"));
        assert_eq!(labels.get("faultline.pid"), Some(&pid));
    }
}

/// Every process of the run's brokers runs as a user other than root, as
/// in the official apache/kafka image (uid 1000).
async fn assert_runs_unprivileged(run_id: &str) {
    let docker = docker_client().await.expect("docker");
    let (containers, _) = labelled(run_id).await;
    assert!(!containers.is_empty());
    for c in containers {
        let id = c.id.expect("container id");
        let options = bollard::query_parameters::TopOptions { ps_args: "-o pid,uid,args".into() };
        let top = docker.top_processes(&id, Some(options)).await.expect("docker top");
        let procs = top.processes.unwrap_or_default();
        assert!(procs.iter().any(|p| p.get(2).is_some_and(|a| a.contains("kafka.Kafka"))), "{procs:?}");
        for p in &procs {
            assert_ne!(p[1].trim(), "0", "a broker process runs as root: {p:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn docker_single_broker_faults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = run_id("one");
    let cluster = start(1, &run, dir.path()).await;
    let bootstrap = cluster.bootstrap();
    let proxy: SocketAddr = bootstrap.parse().expect("one proxy address");
    assert_labelled(&run, 1).await;
    assert_runs_unprivileged(&run).await;

    // Produce and consume through the proxy.
    cluster.create_topic("t", 1, 1).await.expect("create topic");
    let acked = produce(&bootstrap, "t", &["before-restart".to_string()]).await;
    assert_eq!(read_all(&bootstrap, "t", 1).await.get(&acked[0]).map(String::as_str), Some("before-restart"));

    // Pause: requests hang until their timeout; after resume they work.
    cluster.pause_broker(1, Duration::from_secs(5)).await.expect("pause");
    let (r, took) = metadata(&bootstrap, Duration::from_secs(3)).await;
    assert!(r.is_err(), "metadata answered while paused: {r:?}");
    assert!(took >= Duration::from_millis(2900), "paused broker failed fast ({took:?}), it should hang");
    cluster.resume_broker(1).await.expect("resume");
    let (r, _) = metadata(&bootstrap, Duration::from_secs(10)).await;
    assert_eq!(r.expect("metadata after resume"), vec![1]);

    // Network cut: reset fails at once, blackhole hangs until the timeout.
    let wait = Duration::from_secs(3);
    cluster.cut_network(1, CutMode::Reset).await.expect("cut reset");
    let (reset, reset_took) = tokio::task::spawn_blocking(move || raw_metadata(proxy, wait)).await.expect("task");
    cluster.heal_network(1).await.expect("heal");
    cluster.cut_network(1, CutMode::Blackhole).await.expect("cut blackhole");
    let (hole, hole_took) = tokio::task::spawn_blocking(move || raw_metadata(proxy, wait)).await.expect("task");
    cluster.heal_network(1).await.expect("heal");
    eprintln!("[figure] metadata request under reset: {reset:?} after {reset_took:.1?}; under blackhole: {hole:?} after {hole_took:.1?}");
    assert!(reset.is_err() && reset_took < Duration::from_millis(500), "reset: {reset:?} after {reset_took:?}");
    assert!(hole.is_err() && hole_took >= wait, "blackhole: {hole:?} after {hole_took:?}");
    let (r, _) = tokio::task::spawn_blocking(move || raw_metadata(proxy, wait)).await.expect("task");
    r.expect("raw metadata after heal");

    // Graceful stop and start: same address, data kept. Then a hard kill.
    for mode in [RestartMode::Graceful, RestartMode::Hard] {
        let t = Instant::now();
        cluster.stop_broker(1, mode).await.expect("stop");
        let (r, _) = metadata(&bootstrap, Duration::from_secs(2)).await;
        assert!(r.is_err(), "metadata answered while stopped ({mode:?})");
        cluster.start_broker(1).await.expect("start");
        eprintln!("[figure] {mode:?} stop + start + ready: {:.1?}", t.elapsed());
        assert_eq!(
            read_all(&bootstrap, "t", 1).await.get(&acked[0]).map(String::as_str),
            Some("before-restart"),
            "record lost across a {mode:?} restart"
        );
    }

    // Partition between brokers is a docker-only fault; the mock says no.
    let mock = faultline::cluster::MockCluster::start(1).expect("mock");
    assert!(mock.isolate_broker(1).await.is_err());
    mock.shutdown().await.expect("mock shutdown");

    // A run saves its part of the broker logs: from its start on.
    let logs = tempfile::tempdir().expect("tempdir");
    cluster.save_logs(logs.path(), std::time::UNIX_EPOCH).await.expect("logs saved");
    let log = std::fs::read_to_string(logs.path().join("kafka-1.log")).expect("broker log saved");
    assert!(log.contains("Kafka Server started"), "log holds the broker's output");
    cluster.save_logs(logs.path(), std::time::SystemTime::now() + Duration::from_secs(5)).await.expect("logs saved");
    let log = std::fs::read_to_string(logs.path().join("kafka-1.log")).expect("broker log saved");
    assert!(!log.contains("Kafka Server started"), "only what was logged since then");

    cluster.shutdown().await.expect("shutdown");
    assert_eq!(leftovers(&run).await, (0, 0), "containers or networks left behind");
    cluster.shutdown().await.expect("a second shutdown is a no-op");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn docker_three_brokers_survive_an_isolated_leader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = run_id("three");
    let cluster = start(3, &run, dir.path()).await;
    let bootstrap = cluster.bootstrap();
    assert_eq!(bootstrap.split(',').count(), 3);
    assert_labelled(&run, 3).await;

    cluster.create_topic("r3", 3, 3).await.expect("create topic");
    let before: Vec<String> = (0..100).map(|i| format!("before-{i}")).collect();
    let mut acked: Vec<_> = produce(&bootstrap, "r3", &before).await.into_iter().zip(before).collect();

    // Cut the leader of partition 0 off from its peers; clients still reach it.
    let leader = {
        let config = client(&bootstrap);
        tokio::task::spawn_blocking(move || {
            let c: BaseConsumer = config.create().expect("client");
            let md = c.fetch_metadata(Some("r3"), Duration::from_secs(10)).expect("metadata");
            md.topics()[0].partitions().iter().find(|p| p.id() == 0).expect("partition 0").leader()
        })
        .await
        .expect("task")
    };
    let t = Instant::now();
    cluster.isolate_broker(leader as u32).await.expect("isolate");
    // Produce straight away. Records for partition 0 go to the isolated
    // leader, which cannot replicate them and answers "request timed out";
    // librdkafka retries there and does not look for a new leader, so they
    // wait for the rejoin, when the old leader learns it was deposed.
    let during: Vec<String> = (0..100).map(|i| format!("during-{i}")).collect();
    let sending = {
        let (bootstrap, during) = (bootstrap.clone(), during.clone());
        tokio::spawn(async move { produce(&bootstrap, "r3", &during).await })
    };
    // The partition is real: the others fence the isolated broker, so it
    // drops out of the metadata they serve.
    let other = bootstrap.split(',').nth(if leader == 1 { 1 } else { 0 }).expect("another broker's proxy").to_string();
    loop {
        let (r, _) = metadata(&other, Duration::from_secs(5)).await;
        if matches!(&r, Ok(ids) if ids.len() == 2 && !ids.contains(&leader)) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "broker {leader} still in the metadata 60 s after isolation: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!("[figure] isolated broker {leader} fenced after {:.1?}", t.elapsed());
    let t = Instant::now();
    cluster.rejoin_broker(leader as u32).await.expect("rejoin");
    eprintln!("[figure] rejoin until all brokers are in the metadata: {:.1?}", t.elapsed());
    acked.extend(sending.await.expect("producer task").into_iter().zip(during));
    assert!(
        acked.iter().any(|((p, _), v)| *p == 0 && v.starts_with("during")),
        "no record went to the isolated leader's partition"
    );
    eprintln!("[figure] records sent during the isolation all acked {:.1?} after the rejoin", t.elapsed());

    let log = read_all(&bootstrap, "r3", 3).await;
    let lost: Vec<_> = acked.iter().filter(|(at, v)| log.get(at) != Some(v)).collect();
    assert!(lost.is_empty(), "{} acknowledged records lost: {:?}", lost.len(), &lost[..lost.len().min(5)]);

    cluster.shutdown().await.expect("shutdown");
    assert_eq!(leftovers(&run).await, (0, 0), "containers or networks left behind");
}

/// Leftovers whose harness process is gone are reaped (a paused one too);
/// those of a live process are not; unowned ones only by `cleanup_all`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_cleanup_reaps_only_what_no_live_process_owns() {
    use bollard::models::{ContainerCreateBody, NetworkCreateRequest};
    use bollard::query_parameters::CreateContainerOptions;
    use faultline::cluster::{cleanup_all, cleanup_stale};

    let docker = docker_client().await.expect("docker");
    let tag = format!("{:04x}", rand::random::<u16>());
    let me = std::process::id().to_string();
    let owned_by = |pid: Option<&str>| {
        let mut l = HashMap::from([
            ("faultline".to_string(), "1".to_string()),
            ("faultline.run".to_string(), format!("cleanup-{tag}")),
        ]);
        if let Some(pid) = pid {
            l.insert("faultline.pid".to_string(), pid.to_string());
        }
        l
    };
    // No process has pid u32::MAX.
    let dead = "4294967295";
    let network = |name: &str, pid: Option<&str>| NetworkCreateRequest {
        name: format!("faultline-cleanup-{tag}-{name}"),
        labels: Some(owned_by(pid)),
        ..Default::default()
    };
    for (name, pid) in [("dead", Some(dead)), ("unowned", None), ("live", Some(me.as_str()))] {
        docker.create_network(network(name, pid)).await.expect("create network");
    }
    // A paused container of a dead harness, from the broker image.
    let image = if docker.inspect_image("faultline/kafka:4.1.1").await.is_ok() {
        "faultline/kafka:4.1.1"
    } else {
        "apache/kafka:4.1.1"
    };
    let name = format!("faultline-cleanup-{tag}-paused");
    let body = ContainerCreateBody {
        image: Some(image.into()),
        entrypoint: Some(vec!["sleep".into(), "300".into()]),
        labels: Some(owned_by(Some(dead))),
        ..Default::default()
    };
    let opts = CreateContainerOptions { name: Some(name.clone()), ..Default::default() };
    docker.create_container(Some(opts), body).await.expect("create container");
    docker.start_container(&name, None).await.expect("start container");
    docker.pause_container(&name).await.expect("pause container");

    let names =
        |r: &faultline::cluster::CleanupReport| r.containers.iter().chain(&r.networks).cloned().collect::<Vec<_>>();
    let stale = cleanup_stale().await.expect("cleanup_stale");
    eprintln!("cleanup_stale: {stale}");
    let all = cleanup_all().await.expect("cleanup_all");
    eprintln!("cleanup_all: {all}");
    assert!(!names(&stale).iter().any(|n| n.ends_with("-unowned") || n.ends_with("-live")), "{stale}");
    assert!(!names(&all).iter().any(|n| n.ends_with("-live")), "{all}");

    let filters = HashMap::from([("label".to_string(), vec![format!("faultline.run=cleanup-{tag}")])]);
    let left: Vec<String> = docker
        .list_networks(Some(ListNetworksOptions { filters: Some(filters.clone()) }))
        .await
        .expect("list networks")
        .into_iter()
        .filter_map(|n| n.name)
        .collect();
    assert_eq!(left, vec![format!("faultline-cleanup-{tag}-live")], "only the live process's network stays");
    let containers = docker
        .list_containers(Some(ListContainersOptions { all: true, filters: Some(filters), ..Default::default() }))
        .await
        .expect("list containers");
    assert!(containers.is_empty(), "the paused leftover was not removed");
    docker.remove_network(&left[0]).await.expect("remove the live network");
}
