//! Checks that go beyond the file's shape: references between tables, ranges,
//! and combinations librdkafka or the backend would reject later, in a worse
//! place.

use std::time::Duration;

use super::plan::{Action, BrokerTarget, Fault, GroupIx, MemberId, Trigger};
use super::{
    Backend, BrokerRef, BrokerRole, Client, CommitStrategy, ExploreSpec, FaultKind, FaultSpec, Flavor, GroupProtocol,
    Scenario,
};

/// The ranges every count and duration of a file must lie in. A zero or an
/// absurd value is a typo, and some (a zero timeout) would make a run that
/// cannot end properly; the limits are far beyond what a test needs.
pub mod limits {
    use std::time::Duration;

    pub const TIMEOUT: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(24 * 3600));
    pub const DRAIN_TIMEOUT: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(3600));
    pub const PARTITIONS: (u64, u64) = (1, 1000);
    pub const RECORDS: (u64, u64) = (1, 100_000_000);
    pub const RATE: (u64, u64) = (0, 1_000_000);
    pub const KEYS: (u64, u64) = (0, 100_000_000);
    pub const MEMBERS: (u64, u64) = (1, 64);
    pub const BATCH: (u64, u64) = (1, 1_000_000);
    pub const PROCESSING: (Duration, Duration) = (Duration::ZERO, Duration::from_secs(60));
    pub const IDLE_EXIT: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(3600));
    /// Faults that last `duration`: a zero-length fault injects nothing.
    pub const FAULT: (Duration, Duration) = (Duration::from_millis(1), Duration::from_secs(3600));
    pub const REPEAT: (u64, u64) = (1, 1000);
    pub const EXPLORE_FAULTS: (u64, u64) = (1, 20);
    pub const CASES: (u64, u64) = (1, 100_000);
    pub const CONFIRM: (u64, u64) = (1, 20);
    pub const REPRODUCE: (u64, u64) = (1, 100);
    pub const SHRINKS: (u64, u64) = (0, 10_000);
    pub const STEP: (Duration, Duration) = (Duration::from_millis(10), Duration::from_secs(60));
    pub const BUDGET: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(7 * 24 * 3600));
}

fn count(path: &[&str], v: impl Into<u64>, (lo, hi): (u64, u64)) -> Result<(), Problem> {
    let v = v.into();
    if (lo..=hi).contains(&v) {
        return Ok(());
    }
    Err(problem(path, format!("{v} is out of range; allowed: {lo} to {hi}")))
}

fn span(path: &[&str], v: Duration, (lo, hi): (Duration, Duration)) -> Result<(), Problem> {
    if (lo..=hi).contains(&v) {
        return Ok(());
    }
    // Whole hours as hours: humantime says "1year 1month 4days 7h 26m 24s" for 400 days.
    let show = |d: Duration| match d.as_secs() {
        h if h >= 3600 && h % 3600 == 0 && d.subsec_nanos() == 0 => format!("{}h", h / 3600),
        _ => humantime::format_duration(d).to_string(),
    };
    Err(problem(path, format!("{} is out of range; allowed: {} to {}", show(v), show(lo), show(hi))))
}

/// Something that starts this long after the workload starts must start
/// before `run.timeout` ends it.
fn before_timeout(path: &[&str], v: Duration, s: &Scenario) -> Result<(), Problem> {
    span(path, v, (Duration::ZERO, s.run.timeout))
        .map_err(|p| p.help("it must come before run.timeout ends the workload; raise [run] timeout or lower this"))
}

/// What is wrong and where (a path into the TOML document).
pub struct Problem {
    pub path: Vec<String>,
    pub message: String,
    pub help: Option<String>,
}

fn problem(path: &[&str], message: impl Into<String>) -> Problem {
    Problem { path: path.iter().map(|s| s.to_string()).collect(), message: message.into(), help: None }
}

impl Problem {
    fn help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }
}

/// Checks the scenario and returns its faults, resolved.
pub fn validate(s: &Scenario) -> Result<Vec<Fault>, Problem> {
    span(&["run", "timeout"], s.run.timeout, limits::TIMEOUT)?;
    span(&["run", "drain_timeout"], s.run.drain_timeout, limits::DRAIN_TIMEOUT)?;
    if let Some(sweep) = &s.sweep {
        count(&["sweep", "repeat"], sweep.repeat, limits::REPEAT)?;
    }
    let brokers = s.cluster.brokers;
    let max_brokers = match s.cluster.backend {
        Backend::Mock => 3,
        Backend::Docker => 3,
    };
    if brokers == 0 || brokers > max_brokers {
        return Err(problem(&["cluster", "brokers"], format!("{brokers} brokers; use 1 to {max_brokers}")));
    }
    if s.cluster.backend == Backend::Docker && brokers == 2 {
        return Err(problem(&["cluster", "brokers"], "a 2-node KRaft quorum cannot lose a node; use 1 or 3"));
    }
    broker_properties(s)?;
    count(&["topic", "partitions"], s.topic.partitions, limits::PARTITIONS)?;
    if s.topic.replication == 0 || s.topic.replication > brokers {
        return Err(problem(
            &["topic", "replication"],
            format!("replication {} with {brokers} broker(s)", s.topic.replication),
        )
        .help("replication must be between 1 and the number of brokers"));
    }
    if s.producers.is_empty() {
        return Err(problem(&["producer"], "no producer").help("add a [[producer]] table with `records = N`"));
    }
    for (i, p) in s.producers.iter().enumerate() {
        let i = i.to_string();
        count(&["producer", &i, "records"], p.records, limits::RECORDS)?;
        count(&["producer", &i, "rate"], p.rate, limits::RATE)?;
        count(&["producer", &i, "keys"], p.keys, limits::KEYS)?;
        if let Some(d) = p.start_after {
            before_timeout(&["producer", &i, "start_after"], d, s)?;
        }
        if p.idempotence && p.acks.as_config() != "all" {
            return Err(problem(&["producer", &i, "acks"], "idempotence needs acks = \"all\"")
                .help("set acks = \"all\" or idempotence = false"));
        }
    }
    if s.groups.is_empty() {
        return Err(problem(&["group"], "no consumer group").help("add a [[group]] table with `members = N`"));
    }
    let mut names = std::collections::HashSet::new();
    for (i, g) in s.groups.iter().enumerate() {
        let i = i.to_string();
        count(&["group", &i, "members"], g.members, limits::MEMBERS)?;
        count(&["group", &i, "batch"], g.batch, limits::BATCH)?;
        if let Some(d) = g.processing {
            span(&["group", &i, "processing"], d, limits::PROCESSING)?;
        }
        if let Some(d) = g.idle_exit {
            span(&["group", &i, "idle_exit"], d, limits::IDLE_EXIT)?;
        }
        if let Some(d) = g.start_after {
            before_timeout(&["group", &i, "start_after"], d, s)?;
        }
        if g.bounded && g.idle_exit.is_some() {
            return Err(problem(&["group", &i, "idle_exit"], "a group stops either at its snapshot or when idle")
                .help("remove `idle_exit` or `bounded = true`"));
        }
        if let Some(name) = &g.name {
            if !names.insert(name.clone()) {
                return Err(problem(&["group", &i, "name"], format!("group `{name}` is defined twice")));
            }
        }
        if let Some(command) = &g.command {
            if command.first().is_none_or(|p| p.is_empty()) {
                return Err(problem(&["group", &i, "command"], "the command is empty")
                    .help("write the program and its arguments: command = [\"./my-consumer\", \"--flag\"]"));
            }
            if g.client != Client::Rdkafka {
                return Err(problem(&["group", &i, "command"], "give either `client` or `command`, not both"));
            }
        }
        // What an adapter cannot express is refused here, not substituted.
        if g.client == Client::FranzGo && g.protocol == GroupProtocol::Consumer && s.cluster.backend == Backend::Mock {
            return Err(problem(
                &["group", &i, "protocol"],
                "franz-go's KIP-848 consumer cannot run on librdkafka's mock: its ConsumerGroupHeartbeat trips an \
                 assertion in the mock (validate_subscription), and capped below it franz-go falls back to classic",
            )
            .help("use backend = \"docker\", or protocol = \"classic\""));
        }
        if g.client == Client::FranzGo {
            let key = "auto.commit.interval.ms";
            if let Some(ms) = g.properties.get(key).and_then(|v| v.trim().parse::<u64>().ok()) {
                if ms < 100 {
                    return Err(problem(
                        &["group", &i, "properties", key],
                        format!("franz-go refuses an autocommit interval under 100 ms (got {ms} ms)"),
                    )
                    .help("use 100 or more, or client = \"rdkafka\" or \"confluent-kafka-go\""));
                }
            }
        }
        if g.client == Client::Java && s.cluster.backend == Backend::Mock {
            return Err(problem(
                &["group", &i, "client"],
                "the Java client cannot talk to librdkafka's mock: it opens with ApiVersions v4, the mock \
                 answers that with an UNSUPPORTED_VERSION it cannot read, and it stays throttled for 20 minutes",
            )
            .help("use backend = \"docker\" (Kafka), or another client on the mock"));
        }
        if g.client == Client::ConfluentKafkaGo && g.commit == CommitStrategy::Async {
            return Err(problem(
                &["group", &i, "commit"],
                "confluent-kafka-go has no asynchronous commit (every commit call blocks until the broker answers)",
            )
            .help("use sync-batch, or client = \"rdkafka\" or \"franz-go\""));
        }
        if g.protocol == GroupProtocol::Consumer {
            for key in ["session.timeout.ms", "heartbeat.interval.ms", "partition.assignment.strategy"] {
                if g.properties.contains_key(key) {
                    let help = match key {
                        "partition.assignment.strategy" => {
                            "the broker assigns partitions: set `group.remote.assignor` (uniform or range) instead, \
                             or use protocol = \"classic\""
                        }
                        _ => {
                            "the broker owns the session: remove it and set [cluster] broker_properties = \
                             { \"group.consumer.session.timeout.ms\" = 6000, \"group.consumer.heartbeat.interval.ms\" = 1000 } \
                             (docker), or use protocol = \"classic\""
                        }
                    };
                    return Err(problem(
                        &["group", &i, "properties", key],
                        format!("`{key}` is a broker-side setting under protocol = \"consumer\" (KIP-848)"),
                    )
                    .help(help));
                }
            }
        } else if g.properties.contains_key("group.remote.assignor") {
            return Err(problem(
                &["group", &i, "properties", "group.remote.assignor"],
                "`group.remote.assignor` names the broker's assignor, which only protocol = \"consumer\" (KIP-848) uses",
            )
            .help("use partition.assignment.strategy under protocol = \"classic\", or set protocol = \"consumer\""));
        }
        for key in ["group.id", "bootstrap.servers", "enable.auto.commit", "enable.auto.offset.store"] {
            if g.properties.contains_key(key) {
                return Err(problem(&["group", &i, "properties", key], format!("`{key}` is set by faultline"))
                    .help("use `name` for the group id and `commit` for the commit strategy"));
            }
        }
    }
    if let Some(e) = &s.explore {
        explore(s, e)?;
    }
    s.faults.iter().enumerate().map(|(i, f)| resolve(s, i, f)).collect()
}

/// Broker settings the cluster's shape depends on are faultline's: a
/// scenario that changed them would get a cluster it cannot reach or fault.
const OWN_BROKER_PROPERTIES: [&str; 10] = [
    "node.id",
    "process.roles",
    "controller.quorum.voters",
    "controller.listener.names",
    "listeners",
    "advertised.listeners",
    "listener.security.protocol.map",
    "inter.broker.listener.name",
    "log.dirs",
    "broker.id",
];

fn broker_properties(s: &Scenario) -> Result<(), Problem> {
    let Some(name) = s.cluster.broker_properties.keys().next() else { return Ok(()) };
    if s.cluster.backend != Backend::Docker || s.cluster.flavor != Flavor::Kafka {
        return Err(problem(
            &["cluster", "broker_properties", name],
            "broker settings need backend = \"docker\" and Kafka",
        )
        .help("the embedded mock and Redpanda take no broker properties from a scenario"));
    }
    for name in s.cluster.broker_properties.keys() {
        let path = ["cluster", "broker_properties", name.as_str()];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c)) {
            return Err(problem(&path, format!("`{name}` is not a broker property name"))
                .help("broker properties are lowercase words joined by dots, as in server.properties"));
        }
        if OWN_BROKER_PROPERTIES.contains(&name.as_str()) {
            return Err(problem(&path, format!("faultline sets `{name}` itself: the cluster's shape depends on it")));
        }
    }
    Ok(())
}

/// `[explore]`: every schedule in the space must be one the runner can
/// inject and end before run.timeout.
fn explore(s: &Scenario, e: &ExploreSpec) -> Result<(), Problem> {
    if e.kinds.is_empty() {
        return Err(problem(&["explore", "kinds"], "no fault kind")
            .help("list the kinds a schedule may use: kinds = [\"crash-consumer\", \"stall-consumer\"]"));
    }
    if e.kinds.contains(&FaultKind::IsolateBroker) && (s.cluster.backend != Backend::Docker || s.cluster.brokers < 2) {
        return Err(problem(&["explore", "kinds"], "isolate-broker needs backend = \"docker\" and at least 2 brokers"));
    }
    count(&["explore", "max_faults"], e.max_faults, limits::EXPLORE_FAULTS)?;
    count(&["explore", "cases"], e.cases, limits::CASES)?;
    count(&["explore", "confirm"], e.confirm, limits::CONFIRM)?;
    count(&["explore", "reproduce"], e.reproduce, limits::REPRODUCE)?;
    count(&["explore", "max_shrinks"], e.max_shrinks, limits::SHRINKS)?;
    span(&["explore", "step"], e.step, limits::STEP)?;
    span(&["explore", "min_duration"], e.min_duration, limits::FAULT)?;
    span(&["explore", "max_duration"], e.max_duration, limits::FAULT)?;
    if e.max_duration < e.min_duration {
        return Err(problem(&["explore", "max_duration"], "shorter than min_duration"));
    }
    if let Some(b) = e.budget {
        span(&["explore", "budget"], b, limits::BUDGET)?;
    }
    before_timeout(&["explore", "earliest"], e.earliest, s)?;
    before_timeout(&["explore", "latest"], e.latest, s)?;
    if e.latest < e.earliest {
        return Err(problem(&["explore", "latest"], "earlier than `earliest`"));
    }
    if e.latest + e.max_duration >= s.run.timeout {
        return Err(problem(
            &["explore", "latest"],
            format!(
                "a fault starting at {} and lasting {} would still be on when run.timeout ({}) ends the workload",
                humantime::format_duration(e.latest),
                humantime::format_duration(e.max_duration),
                humantime::format_duration(s.run.timeout)
            ),
        )
        .help("lower `latest` or `max_duration`, or raise [run] timeout"));
    }
    for &b in &e.brokers {
        if b == 0 || b > s.cluster.brokers {
            return Err(problem(
                &["explore", "brokers"],
                format!("broker {b} does not exist; brokers are 1 to {}", s.cluster.brokers),
            ));
        }
    }
    let group = match &e.group {
        None => 0,
        Some(name) => s
            .groups
            .iter()
            .position(|g| g.name.as_deref() == Some(name))
            .ok_or_else(|| problem(&["explore", "group"], format!("no group named `{name}`")))?,
    };
    let members = s.groups[group].members;
    if let Some(m) = e.members.iter().find(|&&m| m >= members) {
        return Err(problem(&["explore", "members"], format!("member {m} does not exist; the group has {members}")));
    }
    Ok(())
}

/// Checks a fault against the scenario and resolves its targets.
fn resolve(s: &Scenario, i: usize, f: &FaultSpec) -> Result<Fault, Problem> {
    let idx = i.to_string();
    let err = |field: &str, message: String| problem(&["fault", &idx, field], message);
    let w = f.when();
    let trigger = match (w.at, w.after_processed, w.after_acked) {
        (Some(at), None, None) => Trigger::At(at),
        (None, Some(n), None) => Trigger::AfterProcessed(n),
        (None, None, Some(n)) => Trigger::AfterAcked(n),
        (None, None, None) => {
            return Err(err("kind", "the fault has no trigger".into())
                .help("add one of `at = \"10s\"`, `after_processed = N`, `after_acked = N`"))
        }
        _ => return Err(err("at", "give only one of `at`, `after_processed`, `after_acked`".into())),
    };
    let produced: u64 = s.producers.iter().map(|p| p.records).sum();
    match trigger {
        Trigger::At(at) => before_timeout(&["fault", &idx, "at"], at, s)?,
        // A trigger past what the workload can reach would never fire: the
        // fault would silently not happen.
        Trigger::AfterProcessed(n) => {
            count(&["fault", &idx, "after_processed"], n, (1, produced * s.groups.len() as u64))
                .map_err(|p| p.help("the groups process each produced record once, barring redeliveries"))?
        }
        Trigger::AfterAcked(n) => count(&["fault", &idx, "after_acked"], n, (1, produced))
            .map_err(|p| p.help("the producers write this many records in all"))?,
    }
    if let Some(d) = w.delay {
        before_timeout(&["fault", &idx, "delay"], d, s)?;
    }
    match f {
        FaultSpec::PauseBroker { duration, .. }
        | FaultSpec::RestartBroker { duration, .. }
        | FaultSpec::NetworkCut { duration, .. }
        | FaultSpec::IsolateBroker { duration, .. }
        | FaultSpec::StallConsumer { duration, .. }
        | FaultSpec::HoldRecord { duration, .. }
        | FaultSpec::PauseFetch { duration, .. } => span(&["fault", &idx, "duration"], *duration, limits::FAULT)?,
        // The replacement's delay: zero is a replacement at once.
        FaultSpec::CrashConsumer { duration: Some(d), .. } => before_timeout(&["fault", &idx, "duration"], *d, s)?,
        FaultSpec::CrashConsumer { duration: None, .. }
        | FaultSpec::LeaveConsumer { .. }
        | FaultSpec::JoinConsumer { .. } => {}
    }
    let brokers = s.cluster.brokers;
    let group = |name: &Option<String>| match name {
        None => Ok(GroupIx(0)),
        Some(name) => s
            .groups
            .iter()
            .position(|g| g.name.as_deref() == Some(name))
            .map(GroupIx)
            .ok_or_else(|| err("group", format!("no group named `{name}`"))),
    };
    // A role is resolved when the fault starts; `partition` and `group` say
    // whose leader or coordinator, and belong to that role only.
    let broker = |b: BrokerRef, partition: Option<u32>, g: &Option<String>| match (b, partition, g) {
        (BrokerRef::Id(b), None, None) if b == 0 || b > brokers => {
            Err(err("broker", format!("broker {b} does not exist; brokers are 1 to {brokers}")))
        }
        (BrokerRef::Id(b), None, None) => Ok(BrokerTarget::Id(b)),
        (BrokerRef::Role(BrokerRole::Coordinator), None, g) => Ok(BrokerTarget::Coordinator(group(g)?)),
        (BrokerRef::Role(BrokerRole::Leader), Some(p), None) if p >= s.topic.partitions => Err(err(
            "partition",
            format!(
                "partition {p} does not exist; the topic has {} (0 to {})",
                s.topic.partitions,
                s.topic.partitions - 1
            ),
        )),
        (BrokerRef::Role(BrokerRole::Leader), Some(p), None) => Ok(BrokerTarget::Leader(p)),
        (BrokerRef::Role(BrokerRole::Leader), _, Some(_)) | (BrokerRef::Id(_), None, Some(_)) => {
            Err(err("group", "`group` goes with broker = \"coordinator\" only".into()))
        }
        (BrokerRef::Role(BrokerRole::Leader), None, None) => {
            Err(err("broker", "broker = \"leader\" needs `partition`: whose leader".into()))
        }
        (_, Some(_), _) => Err(err("partition", "`partition` goes with broker = \"leader\" only".into())),
    };
    let member = |g: &Option<String>, m: u32| {
        let group = group(g)?;
        let members = s.groups[group.0].members;
        if m >= members {
            return Err(err("member", format!("member {m} does not exist; the group has {members}")));
        }
        Ok(MemberId { group, member: m })
    };
    let action = match f {
        FaultSpec::PauseBroker { broker: b, partition, group: g, duration, .. } => {
            Action::PauseBroker { broker: broker(*b, *partition, g)?, duration: *duration }
        }
        FaultSpec::RestartBroker { broker: b, partition, group: g, duration, restart, .. } => {
            Action::RestartBroker { broker: broker(*b, *partition, g)?, duration: *duration, mode: *restart }
        }
        FaultSpec::NetworkCut { broker: b, partition, group: g, duration, cut, .. } => {
            Action::NetworkCut { broker: broker(*b, *partition, g)?, duration: *duration, mode: *cut }
        }
        FaultSpec::IsolateBroker { broker: b, partition, group: g, duration, .. } => {
            if s.cluster.backend != Backend::Docker || brokers < 2 {
                return Err(err("kind", "isolate-broker needs backend = \"docker\" and at least 2 brokers".into())
                    .help("the mock cluster has no network between its brokers"));
            }
            Action::IsolateBroker { broker: broker(*b, *partition, g)?, duration: *duration }
        }
        FaultSpec::CrashConsumer { group: g, member: m, duration, .. } => {
            Action::CrashConsumer { member: member(g, *m)?, replace_after: *duration }
        }
        FaultSpec::StallConsumer { group: g, member: m, duration, .. } => {
            Action::StallConsumer { member: member(g, *m)?, duration: *duration }
        }
        FaultSpec::HoldRecord { group: g, member: m, duration, .. } => {
            Action::HoldRecord { member: member(g, *m)?, duration: *duration }
        }
        FaultSpec::LeaveConsumer { group: g, member: m, .. } => Action::LeaveConsumer { member: member(g, *m)? },
        FaultSpec::JoinConsumer { group: g, .. } => Action::JoinConsumer { group: group(g)? },
        FaultSpec::PauseFetch { group: g, member: m, duration, seek_to_end, .. } => Action::PauseFetch {
            group: group(g)?,
            member: m.map(|m| member(g, m)).transpose()?,
            duration: *duration,
            seek_to_end: *seek_to_end,
        },
    };
    Ok(Fault { id: i as u32 + 1, trigger, delay: w.delay, action })
}
