//! Checks that go beyond the file's shape: references between tables, ranges,
//! and combinations librdkafka or the backend would reject later, in a worse
//! place.

use super::plan::{Action, Fault, GroupIx, MemberId, Trigger};
use super::{Backend, Client, CommitStrategy, FaultSpec, GroupProtocol, Scenario};

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
    if s.topic.partitions == 0 {
        return Err(problem(&["topic", "partitions"], "a topic needs at least one partition"));
    }
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
        if p.records == 0 {
            return Err(problem(&["producer", &i, "records"], "a producer must write at least one record"));
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
        if g.members == 0 {
            return Err(problem(&["group", &i, "members"], "a group needs at least one member"));
        }
        if g.batch == 0 {
            return Err(problem(&["group", &i, "batch"], "batch must be at least 1"));
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
                    return Err(problem(
                        &["group", &i, "properties", key],
                        format!("`{key}` is a broker-side setting under protocol = \"consumer\" (KIP-848)"),
                    )
                    .help("remove it, or use protocol = \"classic\""));
                }
            }
        }
        for key in ["group.id", "bootstrap.servers", "enable.auto.commit", "enable.auto.offset.store"] {
            if g.properties.contains_key(key) {
                return Err(problem(&["group", &i, "properties", key], format!("`{key}` is set by faultline"))
                    .help("use `name` for the group id and `commit` for the commit strategy"));
            }
        }
    }
    s.faults.iter().enumerate().map(|(i, f)| resolve(s, i, f)).collect()
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
    let brokers = s.cluster.brokers;
    let broker = |b: u32| {
        if b == 0 || b > brokers {
            Err(err("broker", format!("broker {b} does not exist; brokers are 1 to {brokers}")))
        } else {
            Ok(b)
        }
    };
    let group = |name: &Option<String>| match name {
        None => Ok(GroupIx(0)),
        Some(name) => s
            .groups
            .iter()
            .position(|g| g.name.as_deref() == Some(name))
            .map(GroupIx)
            .ok_or_else(|| err("group", format!("no group named `{name}`"))),
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
        FaultSpec::PauseBroker { broker: b, duration, .. } => {
            Action::PauseBroker { broker: broker(*b)?, duration: *duration }
        }
        FaultSpec::RestartBroker { broker: b, duration, restart, .. } => {
            Action::RestartBroker { broker: broker(*b)?, duration: *duration, mode: *restart }
        }
        FaultSpec::NetworkCut { broker: b, duration, cut, .. } => {
            Action::NetworkCut { broker: broker(*b)?, duration: *duration, mode: *cut }
        }
        FaultSpec::IsolateBroker { broker: b, duration, .. } => {
            if s.cluster.backend != Backend::Docker || brokers < 2 {
                return Err(err("kind", "isolate-broker needs backend = \"docker\" and at least 2 brokers".into())
                    .help("the mock cluster has no network between its brokers"));
            }
            Action::IsolateBroker { broker: broker(*b)?, duration: *duration }
        }
        FaultSpec::CrashConsumer { group: g, member: m, duration, .. } => {
            Action::CrashConsumer { member: member(g, *m)?, replace_after: *duration }
        }
        FaultSpec::StallConsumer { group: g, member: m, duration, .. } => {
            Action::StallConsumer { member: member(g, *m)?, duration: *duration }
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
