//! The scenario file's shape. Every table rejects unknown fields so a typo is
//! an error, not a silently ignored setting.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use schemars::JsonSchema;

use super::expect::{Expectation, Key};
use super::plan::Fault;

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Defaults to the file name without extension.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub cluster: ClusterSpec,
    #[serde(default)]
    pub topic: TopicSpec,
    #[serde(default, rename = "producer")]
    pub producers: Vec<ProducerSpec>,
    #[serde(default, rename = "group")]
    pub groups: Vec<GroupSpec>,
    #[serde(default, rename = "fault")]
    pub faults: Vec<FaultSpec>,
    /// The faults with their targets resolved; filled by validation.
    #[serde(skip)]
    #[schemars(skip)]
    pub(super) plan: Vec<Fault>,
    #[serde(default)]
    pub run: RunSpec,
    /// Expected counts per anomaly class (or aggregate), e.g. `lost = 0`.
    #[serde(default)]
    #[schemars(schema_with = "super::expect::expect_schema")]
    pub expect: BTreeMap<Key, Expectation>,
    /// The grid `faultline sweep` runs this file over; `faultline run`
    /// ignores it and runs the file as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSpec>,
    /// The fault schedules `faultline explore` generates in place of the
    /// file's own faults; `faultline run` ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explore: Option<ExploreSpec>,
}

/// `[explore]`: the space of fault schedules to search, and how long.
/// Every start and duration is a whole number of `step`s, so that shrinking
/// moves in steps a person would write.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExploreSpec {
    /// The fault kinds a schedule may use.
    pub kinds: Vec<FaultKind>,
    /// At most this many faults per schedule.
    #[serde(default = "three")]
    pub max_faults: u32,
    /// Faults start this long after the workload starts, or later.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub earliest: Duration,
    /// ... and no later than this.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "String")]
    pub latest: Duration,
    /// Shortest fault (for kinds with a duration; a crash's replacement delay).
    #[serde(default = "tenth_second", with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub min_duration: Duration,
    #[serde(default = "ten_seconds", with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub max_duration: Duration,
    /// Resolution of starts and durations.
    #[serde(default = "tenth_second", with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub step: Duration,
    /// Brokers broker faults may hit (default: every broker).
    #[serde(default)]
    pub brokers: Vec<u32>,
    /// The group consumer faults hit, by name (default: the first group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Members of that group consumer faults may hit (default: every member).
    #[serde(default)]
    pub members: Vec<u32>,
    /// Schedules to try at most.
    #[serde(default = "twenty")]
    pub cases: u32,
    /// Stop searching after this long, whatever `cases` says.
    #[serde(default, with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub budget: Option<Duration>,
    /// The search's seed: the same seed, the same schedules (default: drawn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Runs of a smaller candidate while shrinking: it is kept only if
    /// every one breaks what the original broke (runs are not deterministic).
    #[serde(default = "two")]
    pub confirm: u32,
    /// Runs of the minimal schedule, for its reproduction rate.
    #[serde(default = "five")]
    pub reproduce: u32,
    /// Smaller candidates to try at most while shrinking.
    #[serde(default = "fifty")]
    pub max_shrinks: u32,
}

/// The broker a broker fault hits: a fixed id, or a role resolved when the
/// fault starts (the group's coordinator, a partition's leader).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum BrokerRef {
    Id(u32),
    Role(BrokerRole),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BrokerRole {
    /// The group coordinator of `group` (default: the first group).
    Coordinator,
    /// The leader of `partition`.
    Leader,
}

impl<'de> Deserialize<'de> for BrokerRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<BrokerRef, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = BrokerRef;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a broker id (1, 2, 3), \"coordinator\" or \"leader\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<BrokerRef, E> {
                u32::try_from(v).map(BrokerRef::Id).map_err(|_| E::custom(format!("no broker {v}")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<BrokerRef, E> {
                u32::try_from(v).map(BrokerRef::Id).map_err(|_| E::custom(format!("no broker {v}")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<BrokerRef, E> {
                match v {
                    "coordinator" => Ok(BrokerRef::Role(BrokerRole::Coordinator)),
                    "leader" => Ok(BrokerRef::Role(BrokerRole::Leader)),
                    _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A fault kind, as `kind = "..."` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    PauseBroker,
    RestartBroker,
    NetworkCut,
    IsolateBroker,
    CrashConsumer,
    StallConsumer,
    HoldRecord,
    LeaveConsumer,
    JoinConsumer,
    PauseFetch,
}

impl FaultKind {
    pub const ALL: [FaultKind; 10] = [
        FaultKind::PauseBroker,
        FaultKind::RestartBroker,
        FaultKind::NetworkCut,
        FaultKind::IsolateBroker,
        FaultKind::CrashConsumer,
        FaultKind::StallConsumer,
        FaultKind::HoldRecord,
        FaultKind::LeaveConsumer,
        FaultKind::JoinConsumer,
        FaultKind::PauseFetch,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::PauseBroker => "pause-broker",
            FaultKind::RestartBroker => "restart-broker",
            FaultKind::NetworkCut => "network-cut",
            FaultKind::IsolateBroker => "isolate-broker",
            FaultKind::CrashConsumer => "crash-consumer",
            FaultKind::StallConsumer => "stall-consumer",
            FaultKind::HoldRecord => "hold-record",
            FaultKind::LeaveConsumer => "leave-consumer",
            FaultKind::JoinConsumer => "join-consumer",
            FaultKind::PauseFetch => "pause-fetch",
        }
    }

    /// Aimed at a broker, not at a member of a group.
    pub fn on_broker(self) -> bool {
        matches!(
            self,
            FaultKind::PauseBroker | FaultKind::RestartBroker | FaultKind::NetworkCut | FaultKind::IsolateBroker
        )
    }
}

impl std::str::FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<FaultKind, String> {
        FaultKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            let all: Vec<&str> = FaultKind::ALL.iter().map(|k| k.name()).collect();
            format!("no fault kind `{s}`; kinds: {}", all.join(", "))
        })
    }
}

/// `[sweep]`: settings to vary, and how often to run each point.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// The axes, in order: the first is the plots' x axis.
    pub vary: Vec<VarySpec>,
    /// Runs per point (min, median and max are taken over them).
    #[serde(default = "one")]
    pub repeat: u32,
    /// The fault (1-based, as `fault #N` in a summary) whose time to detect
    /// and to recover each point reports.
    #[serde(default = "one")]
    pub fault: u32,
}

/// One axis: a field of this file by its path, and the values it takes.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VarySpec {
    /// e.g. `fault[0].duration` or `group[0].properties."session.timeout.ms"`.
    pub path: String,
    pub values: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// librdkafka's embedded mock cluster: no Docker, starts in milliseconds.
    #[default]
    Mock,
    /// Kafka or Redpanda in containers.
    Docker,
}

impl Backend {
    /// As the scenario file spells it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Mock => "mock",
            Backend::Docker => "docker",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Flavor {
    #[default]
    Kafka,
    Redpanda,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    #[serde(default)]
    pub backend: Backend,
    #[serde(default)]
    pub flavor: Flavor,
    #[serde(default = "one")]
    pub brokers: u32,
    /// Container image (docker backend); defaults per flavor.
    #[serde(default)]
    pub image: Option<String>,
    /// Run on the cluster the previous scenario of the same `faultline run`
    /// left, when it has the same shape (a fresh topic and groups each time).
    /// `false`: start a cluster of its own.
    #[serde(default = "yes")]
    pub reuse: bool,
    /// Broker settings (Kafka on Docker), e.g. the KIP-848 session limits
    /// `"group.consumer.session.timeout.ms" = 6000`; values as for client
    /// properties. Each becomes the image's KAFKA_* variable.
    #[serde(default, deserialize_with = "properties", skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(with = "BTreeMap<String, PropertyValue>")]
    pub broker_properties: BTreeMap<String, String>,
}

impl Scenario {
    /// The faults with their targets resolved, in file order.
    pub fn plan(&self) -> &[Fault] {
        &self.plan
    }
}

impl ClusterSpec {
    /// Two scenarios can share a cluster when this is the same.
    pub fn shape(&self) -> (Backend, Flavor, u32, Option<&str>, &BTreeMap<String, String>) {
        (self.backend, self.flavor, self.brokers, self.image.as_deref(), &self.broker_properties)
    }
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            backend: Backend::Mock,
            flavor: Flavor::Kafka,
            brokers: 1,
            image: None,
            reuse: true,
            broker_properties: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// Defaults to a name unique to the run.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "three")]
    pub partitions: u32,
    #[serde(default = "one")]
    pub replication: u32,
}

impl Default for TopicSpec {
    fn default() -> Self {
        TopicSpec { name: None, partitions: 3, replication: 1 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default, JsonSchema)]
pub enum Acks {
    #[serde(rename = "0")]
    None,
    #[serde(rename = "1")]
    Leader,
    #[default]
    #[serde(rename = "all")]
    All,
}

impl Acks {
    pub fn as_config(self) -> &'static str {
        match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProducerSpec {
    /// How many records this producer writes.
    pub records: u64,
    /// Records per second; 0 means as fast as possible.
    #[serde(default)]
    pub rate: u64,
    /// Number of distinct keys; 0 writes records without a key.
    #[serde(default)]
    pub keys: u64,
    #[serde(default)]
    pub acks: Acks,
    #[serde(default = "yes")]
    pub idempotence: bool,
    /// Wait this long after the workload starts before producing.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub start_after: Option<Duration>,
    /// Any librdkafka producer property.
    #[serde(default, deserialize_with = "properties")]
    #[schemars(with = "BTreeMap<String, PropertyValue>")]
    pub properties: BTreeMap<String, String>,
}

/// How a consumer stores and commits offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CommitStrategy {
    /// enable.auto.commit=true, enable.auto.offset.store=true: librdkafka's
    /// default, which stores an offset when the record is handed over.
    #[default]
    Auto,
    /// enable.auto.commit=true, enable.auto.offset.store=false, and an
    /// explicit store after processing: the fix for premature commits.
    AutoStoreAfterProcessing,
    /// A synchronous commit after every record.
    SyncEach,
    /// A synchronous commit after every `batch` records.
    SyncBatch,
    /// An asynchronous commit after every `batch` records.
    Async,
}

impl CommitStrategy {
    pub fn name(self) -> &'static str {
        match self {
            CommitStrategy::Auto => "auto",
            CommitStrategy::AutoStoreAfterProcessing => "auto-store-after-processing",
            CommitStrategy::SyncEach => "sync-each",
            CommitStrategy::SyncBatch => "sync-batch",
            CommitStrategy::Async => "async",
        }
    }
}

/// The consumer implementation a group's members run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Client {
    /// The built-in worker on librdkafka (rust-rdkafka).
    #[default]
    Rdkafka,
    /// clients/franz-go: github.com/twmb/franz-go.
    FranzGo,
    /// clients/confluent-kafka-go: github.com/confluentinc/confluent-kafka-go.
    ConfluentKafkaGo,
    /// clients/java: Apache Kafka's own consumer (org.apache.kafka:kafka-clients).
    Java,
}

impl Client {
    pub fn name(self) -> &'static str {
        match self {
            Client::Rdkafka => "rdkafka",
            Client::FranzGo => "franz-go",
            Client::ConfluentKafkaGo => "confluent-kafka-go",
            Client::Java => "java",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GroupProtocol {
    #[default]
    Classic,
    /// KIP-848.
    Consumer,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Group id; defaults to one unique to the run.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default = "one")]
    pub members: u32,
    /// The consumer the members run.
    #[serde(default)]
    pub client: Client,
    /// Instead of `client`: any program that speaks the worker protocol
    /// (docs/worker-protocol.md), as `[program, args...]`.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub commit: CommitStrategy,
    /// Records per commit for `sync-batch` and `async`.
    #[serde(default = "hundred")]
    pub batch: u32,
    /// Simulated processing time per record.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub processing: Option<Duration>,
    /// Stop at the high watermarks seen when the group starts.
    #[serde(default)]
    pub bounded: bool,
    /// Stop once no record has arrived for this long: the unreliable rule
    /// that `bounded` replaces. The group is judged against the high
    /// watermarks seen when it started, as a bounded group is.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub idle_exit: Option<Duration>,
    #[serde(default)]
    pub protocol: GroupProtocol,
    /// Start the members this long after the workload starts.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub start_after: Option<Duration>,
    /// Any librdkafka consumer property.
    #[serde(default, deserialize_with = "properties")]
    #[schemars(with = "BTreeMap<String, PropertyValue>")]
    pub properties: BTreeMap<String, String>,
}

impl GroupSpec {
    /// Members leave by themselves (at the snapshot, or when idle) and the
    /// group is judged against the high watermarks seen when it started.
    pub fn stops_by_itself(&self) -> bool {
        self.bounded || self.idle_exit.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RestartMode {
    /// SIGTERM: the broker shuts down cleanly.
    #[default]
    Graceful,
    /// SIGKILL.
    Hard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CutMode {
    /// Nothing forwarded, connections hang.
    #[default]
    Blackhole,
    /// Connections closed and refused.
    Reset,
}

/// When a fault starts: one trigger (validation checks there is exactly
/// one), then an optional delay. Shared by every fault kind.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub struct When {
    /// Start this long after the workload starts.
    #[serde(default, with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub at: Option<Duration>,
    /// Start once the groups have processed this many records in all; for a
    /// fault that names a `member`, once that member has processed this many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_processed: Option<u64>,
    /// Start once the producers have had this many records acknowledged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_acked: Option<u64>,
    /// Wait this long after the trigger before injecting: lands a crash in
    /// the middle of processing a record rather than right after one.
    #[serde(default, with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub delay: Option<Duration>,
}

/// One `[[fault]]` table: a kind and exactly the fields that kind takes, so
/// a field that means nothing for the kind is an error in the file. Brokers
/// are numbered from 1, members from 0; `group` names a group (default: the
/// first). Validation resolves the targets into a [`Fault`].
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FaultSpec {
    /// Broker stops answering, connections stay open (docker pause; mock:
    /// round-trip time raised past the pause).
    PauseBroker {
        #[serde(flatten)]
        when: When,
        broker: BrokerRef,
        /// With `broker = "leader"`: whose leader.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partition: Option<u32>,
        /// With `broker = "coordinator"`: whose coordinator (default: the first group).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        #[serde(with = "humantime_serde")]
        #[schemars(with = "String")]
        duration: Duration,
    },
    /// Broker goes down and comes back with its data, at the same address.
    RestartBroker {
        #[serde(flatten)]
        when: When,
        broker: BrokerRef,
        /// With `broker = "leader"`: whose leader.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partition: Option<u32>,
        /// With `broker = "coordinator"`: whose coordinator (default: the first group).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        #[serde(with = "humantime_serde")]
        #[schemars(with = "String")]
        duration: Duration,
        #[serde(default)]
        restart: RestartMode,
    },
    /// Clients lose their connection to a broker (through faultline's proxy).
    NetworkCut {
        #[serde(flatten)]
        when: When,
        broker: BrokerRef,
        /// With `broker = "leader"`: whose leader.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partition: Option<u32>,
        /// With `broker = "coordinator"`: whose coordinator (default: the first group).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        #[serde(with = "humantime_serde")]
        #[schemars(with = "String")]
        duration: Duration,
        #[serde(default)]
        cut: CutMode,
    },
    /// The broker loses its peers (docker network disconnect); clients still
    /// reach it. Docker backend, several brokers.
    IsolateBroker {
        #[serde(flatten)]
        when: When,
        broker: BrokerRef,
        /// With `broker = "leader"`: whose leader.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partition: Option<u32>,
        /// With `broker = "coordinator"`: whose coordinator (default: the first group).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        #[serde(with = "humantime_serde")]
        #[schemars(with = "String")]
        duration: Duration,
    },
    /// SIGKILL of a member; with `duration`, a replacement starts after it.
    CrashConsumer {
        #[serde(flatten)]
        when: When,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        member: u32,
        #[serde(default, with = "humantime_serde", skip_serializing_if = "Option::is_none")]
        #[schemars(with = "Option<String>")]
        duration: Option<Duration>,
    },
    /// SIGSTOP of a member for `duration`, then SIGCONT.
    StallConsumer {
        #[serde(flatten)]
        when: When,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        member: u32,
        #[serde(with = "humantime_serde")]
        #[schemars(with = "String")]
        duration: Duration,
    },
    /// The member's application holds its next record for `duration`: no
    /// poll, no commit, while the client's own threads go on heartbeating
    /// (a record that outlasts max.poll.interval.ms). A stall stops the
    /// heartbeats too.
    HoldRecord {
        #[serde(flatten)]
        when: When,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        member: u32,
        #[serde(with = "humantime_serde")]
        #[schemars(with = "String")]
        duration: Duration,
    },
    /// The member leaves the group cleanly.
    LeaveConsumer {
        #[serde(flatten)]
        when: When,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        member: u32,
    },
    /// A new member joins the group.
    JoinConsumer {
        #[serde(flatten)]
        when: When,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
    },
    /// Fetching paused for `duration` on one member, or on every member of
    /// the group; `seek_to_end` skips what was produced meanwhile.
    PauseFetch {
        #[serde(flatten)]
        when: When,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        member: Option<u32>,
        #[serde(with = "humantime_serde")]
        #[schemars(with = "String")]
        duration: Duration,
        #[serde(default)]
        seek_to_end: bool,
    },
}

impl FaultSpec {
    pub fn kind(&self) -> FaultKind {
        match self {
            FaultSpec::PauseBroker { .. } => FaultKind::PauseBroker,
            FaultSpec::RestartBroker { .. } => FaultKind::RestartBroker,
            FaultSpec::NetworkCut { .. } => FaultKind::NetworkCut,
            FaultSpec::IsolateBroker { .. } => FaultKind::IsolateBroker,
            FaultSpec::CrashConsumer { .. } => FaultKind::CrashConsumer,
            FaultSpec::StallConsumer { .. } => FaultKind::StallConsumer,
            FaultSpec::HoldRecord { .. } => FaultKind::HoldRecord,
            FaultSpec::LeaveConsumer { .. } => FaultKind::LeaveConsumer,
            FaultSpec::JoinConsumer { .. } => FaultKind::JoinConsumer,
            FaultSpec::PauseFetch { .. } => FaultKind::PauseFetch,
        }
    }

    pub fn when(&self) -> &When {
        match self {
            FaultSpec::PauseBroker { when, .. }
            | FaultSpec::RestartBroker { when, .. }
            | FaultSpec::NetworkCut { when, .. }
            | FaultSpec::IsolateBroker { when, .. }
            | FaultSpec::CrashConsumer { when, .. }
            | FaultSpec::StallConsumer { when, .. }
            | FaultSpec::HoldRecord { when, .. }
            | FaultSpec::LeaveConsumer { when, .. }
            | FaultSpec::JoinConsumer { when, .. }
            | FaultSpec::PauseFetch { when, .. } => when,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// How long the group may take to process up to the high watermark once
    /// producers and faults are done.
    #[serde(default = "sixty_seconds", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub drain_timeout: Duration,
    /// Upper bound for the whole workload phase.
    #[serde(default = "ten_minutes", with = "humantime_serde")]
    #[schemars(with = "String")]
    pub timeout: Duration,
}

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec { drain_timeout: sixty_seconds(), timeout: ten_minutes() }
    }
}

/// A client property as a file may write it: clients take strings, people
/// write `session.timeout.ms = 6000` and `enable.idempotence = true`.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code, reason = "only its schema is used")]
enum PropertyValue {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
}

/// Reads a property table, each value in the string form the client takes.
fn properties<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    struct Scalar(String);
    impl<'de> Deserialize<'de> for Scalar {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = Scalar;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a string, number or boolean")
                }
                fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_owned()))
                }
                fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
                fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                    Ok(Scalar(v.to_string()))
                }
            }
            d.deserialize_any(V)
        }
    }
    let map = BTreeMap::<String, Scalar>::deserialize(d)?;
    Ok(map.into_iter().map(|(k, Scalar(v))| (k, v)).collect())
}

fn one() -> u32 {
    1
}
fn three() -> u32 {
    3
}
fn two() -> u32 {
    2
}
fn five() -> u32 {
    5
}
fn twenty() -> u32 {
    20
}
fn fifty() -> u32 {
    50
}
fn tenth_second() -> Duration {
    Duration::from_millis(100)
}
fn ten_seconds() -> Duration {
    Duration::from_secs(10)
}
fn hundred() -> u32 {
    100
}
fn yes() -> bool {
    true
}
fn sixty_seconds() -> Duration {
    Duration::from_secs(60)
}
fn ten_minutes() -> Duration {
    Duration::from_secs(600)
}
