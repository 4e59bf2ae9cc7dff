//! Checks that go beyond the file's shape: references between tables, ranges,
//! and combinations librdkafka or the backend would reject later, in a worse
//! place.

use super::{Backend, FaultKind, GroupProtocol, Scenario};
use crate::checker::Class;

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

/// Aggregate names accepted in `[expect]` besides the anomaly classes.
pub const AGGREGATES: [&str; 5] = ["lost", "redelivered", "skipped-by-seek", "drain-timeouts", "acked"];

pub fn validate(s: &Scenario) -> Result<(), Problem> {
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
    for (i, f) in s.faults.iter().enumerate() {
        validate_fault(s, i, f)?;
    }
    for key in s.expect.keys() {
        if Class::from_name(key).is_none() && !AGGREGATES.contains(&key.as_str()) {
            let known: Vec<&str> = Class::ALL.iter().map(|c| c.name()).chain(AGGREGATES).collect();
            return Err(problem(&["expect", key], format!("unknown expectation `{key}`"))
                .help(format!("expected one of: {}", known.join(", "))));
        }
    }
    Ok(())
}

fn validate_fault(s: &Scenario, i: usize, f: &super::FaultSpec) -> Result<(), Problem> {
    let idx = i.to_string();
    let at = |field: &str| vec!["fault".to_string(), idx.clone(), field.to_string()];
    let err = |field: &str, message: String| Problem { path: at(field), message, help: None };
    let triggers = [f.at.is_some(), f.after_processed.is_some(), f.after_acked.is_some()];
    match triggers.iter().filter(|t| **t).count() {
        1 => {}
        0 => {
            return Err(err("kind", "the fault has no trigger".into())
                .help("add one of `at = \"10s\"`, `after_processed = N`, `after_acked = N`"))
        }
        _ => return Err(err("at", "give only one of `at`, `after_processed`, `after_acked`".into())),
    }
    if f.kind.needs_duration() && f.duration.is_none() {
        return Err(err("duration", format!("{} needs a duration", f.kind.name())).help("e.g. duration = \"10s\""));
    }
    if f.kind == FaultKind::IsolateBroker && (s.cluster.backend != Backend::Docker || s.cluster.brokers < 2) {
        return Err(err("kind", "isolate-broker needs backend = \"docker\" and at least 2 brokers".into())
            .help("the mock cluster has no network between its brokers"));
    }
    if f.kind.targets_broker() {
        match f.broker {
            None => return Err(err("broker", format!("{} needs `broker = N` (1-based)", f.kind.name()))),
            Some(b) if b == 0 || b > s.cluster.brokers => {
                return Err(err("broker", format!("broker {b} does not exist; brokers are 1 to {}", s.cluster.brokers)))
            }
            Some(_) => {}
        }
    } else {
        if f.broker.is_some() {
            return Err(err("broker", format!("{} acts on consumers, not brokers", f.kind.name())));
        }
        let group = match &f.group {
            Some(name) => match s.groups.iter().find(|g| g.name.as_deref() == Some(name)) {
                Some(g) => g,
                None => return Err(err("group", format!("no group named `{name}`"))),
            },
            None => &s.groups[0],
        };
        let needs_member =
            matches!(f.kind, FaultKind::CrashConsumer | FaultKind::StallConsumer | FaultKind::LeaveConsumer);
        match (needs_member, f.member) {
            (true, None) => return Err(err("member", format!("{} needs `member = N` (0-based)", f.kind.name()))),
            (true, Some(m)) if m >= group.members => {
                return Err(err("member", format!("member {m} does not exist; the group has {}", group.members)))
            }
            (false, Some(_)) if f.kind == FaultKind::JoinConsumer => {
                return Err(err("member", "join-consumer adds a new member; it takes no `member`".into()))
            }
            _ => {}
        }
    }
    if f.seek_to_end && f.kind != FaultKind::PauseFetch {
        return Err(err("seek_to_end", "only pause-fetch can seek to the end on resume".into()));
    }
    Ok(())
}
