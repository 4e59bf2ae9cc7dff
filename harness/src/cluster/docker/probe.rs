//! Kafka requests the backend makes itself, always through the proxies (so
//! a probe sees what clients see): readiness and topic creation.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::ClientConfig;
use tokio::time::Instant;

use crate::cluster::{ClusterError, ClusterResult};

fn config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    // Short reconnect backoff: a broker that comes up mid-probe is seen
    // within half a second, not after librdkafka's 10 s maximum.
    c.set("bootstrap.servers", bootstrap)
        .set("client.id", "faultline-probe")
        .set("reconnect.backoff.ms", "50")
        .set("reconnect.backoff.max.ms", "500");
    c
}

/// What one metadata request through `bootstrap` sees.
#[derive(Debug, Default)]
pub(super) struct Metadata {
    /// Ids of the registered, unfenced brokers.
    pub brokers: Vec<i32>,
    /// ((topic, partition), leader). A broker back from a partition can
    /// answer from a stale view for a while, naming itself leader of
    /// partitions it lost.
    pub leaders: BTreeMap<(String, i32), i32>,
}

/// One metadata request (blocking client, so it runs on the blocking pool).
pub(super) async fn metadata(bootstrap: &str, timeout: Duration) -> Result<Metadata, String> {
    let config = config(bootstrap);
    tokio::task::spawn_blocking(move || {
        let client: BaseConsumer = config.create().map_err(|e| e.to_string())?;
        let md = client.fetch_metadata(None, timeout).map_err(|e| e.to_string())?;
        Ok(Metadata {
            brokers: md.brokers().iter().map(|b| b.id()).collect(),
            leaders: md
                .topics()
                .iter()
                .flat_map(|t| t.partitions().iter().map(move |p| ((t.name().to_string(), p.id()), p.leader())))
                .collect(),
        })
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Creates the topic and returns once every partition has a leader, so the
/// workload does not start against a topic that is still being placed.
pub(super) async fn create_topic(bootstrap: &str, name: &str, partitions: u32, replication: u32) -> ClusterResult<()> {
    const WAIT: Duration = Duration::from_secs(60);
    let admin: AdminClient<DefaultClientContext> =
        config(bootstrap).create().map_err(kafka("cannot create the admin client".into()))?;
    let topic = NewTopic::new(name, partitions as i32, TopicReplication::Fixed(replication as i32));
    let opts = AdminOptions::new().operation_timeout(Some(WAIT)).request_timeout(Some(WAIT));
    let results = admin.create_topics([&topic], &opts).await.map_err(kafka(format!("cannot create topic {name}")))?;
    for result in results {
        // A topic the brokers refused comes back as a bare error code.
        result.map_err(|(t, code)| ClusterError::Kafka {
            what: format!("cannot create topic {t}"),
            source: Box::new(KafkaError::AdminOp(code)),
        })?;
    }
    let deadline = Instant::now() + WAIT;
    loop {
        if placed(bootstrap, name, partitions).await? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(ClusterError::Unplaced { topic: name.into(), waited: WAIT });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn placed(bootstrap: &str, topic: &str, partitions: u32) -> ClusterResult<bool> {
    let (config, name) = (config(bootstrap), topic.to_string());
    tokio::task::spawn_blocking(move || {
        let client: BaseConsumer = config.create().map_err(kafka("cannot create the metadata client".into()))?;
        let md = client
            .fetch_metadata(Some(&name), Duration::from_secs(10))
            .map_err(kafka(format!("cannot fetch the metadata of topic {name}")))?;
        Ok(md.topics().iter().any(|t| {
            t.error().is_none()
                && t.partitions().len() == partitions as usize
                && t.partitions().iter().all(|p| p.error().is_none() && p.leader() >= 0)
        }))
    })
    .await
    .map_err(|source| ClusterError::Task {
        what: format!("the metadata request for topic {topic} did not finish"),
        source,
    })?
}

/// A `map_err` adapter: the Kafka error, saying what failed.
fn kafka(what: String) -> impl FnOnce(KafkaError) -> ClusterError {
    move |source| ClusterError::Kafka { what, source: Box::new(source) }
}
