//! The space of fault schedules a search draws from, as a proptest strategy:
//! its shrinking drops faults, moves starts earlier, shortens durations and
//! aims at the first target listed.

use std::fmt;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::{select, Index};

use crate::nemesis::HOLD_WAIT;
use crate::scenario::{BrokerRef, CutMode, ExploreSpec, FaultKind, FaultSpec, RestartMode, Scenario, When};

/// `[explore]` resolved against the scenario: targets listed, times in steps.
#[derive(Debug, Clone)]
pub struct Space {
    pub kinds: Vec<FaultKind>,
    pub max_faults: usize,
    step: Duration,
    /// Starts and durations, in steps.
    earliest: u64,
    latest: u64,
    min_duration: u64,
    max_duration: u64,
    brokers: Vec<u32>,
    group: Option<String>,
    members: Vec<u32>,
    /// Members the group starts with.
    group_size: u32,
}

/// One generated fault. A field its kind does not take is zero, so that two
/// faults that inject the same thing are equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub kind: FaultKind,
    pub at: Duration,
    pub duration: Duration,
    /// A broker (1-based) or a member (0-based) of the space's group.
    pub target: u32,
}

/// Faults in order of their start.
pub type Schedule = Vec<Planned>;

impl Space {
    /// `e` is `s.explore`, validated with `s`.
    pub fn new(s: &Scenario, e: &ExploreSpec) -> Space {
        let step = e.step.as_nanos().max(1);
        let floor = |d: Duration| (d.as_nanos() / step) as u64;
        let ceil = |d: Duration| d.as_nanos().div_ceil(step) as u64;
        let group = e.group.as_ref().and_then(|n| s.groups.iter().position(|g| g.name.as_deref() == Some(n)));
        let mut kinds = e.kinds.clone();
        kinds.dedup();
        let (earliest, min_duration) = (ceil(e.earliest), ceil(e.min_duration).max(1));
        Space {
            kinds,
            max_faults: e.max_faults as usize,
            step: e.step,
            earliest,
            latest: floor(e.latest).max(earliest),
            min_duration,
            max_duration: floor(e.max_duration).max(min_duration),
            brokers: if e.brokers.is_empty() { (1..=s.cluster.brokers).collect() } else { e.brokers.clone() },
            group: e.group.clone(),
            members: if e.members.is_empty() {
                (0..s.groups[group.unwrap_or(0)].members).collect()
            } else {
                e.members.clone()
            },
            group_size: s.groups[group.unwrap_or(0)].members,
        }
    }

    /// One to `max_faults` faults, each of which the runner can inject.
    /// Shrinking skips schedules that are not (proptest's filter walks past
    /// them), so no run is spent on them.
    pub fn strategy(&self) -> BoxedStrategy<Schedule> {
        let (space, group_size) = (self.clone(), self.group_size);
        let fault = (
            select(self.kinds.clone()),
            self.earliest..=self.latest,
            self.min_duration..=self.max_duration,
            any::<Index>(),
        )
            .prop_map(move |(kind, at, duration, target)| {
                let n = space.targets(kind).len();
                space.planned(kind, at, duration, target.index(n))
            });
        proptest::collection::vec(fault, 1..=self.max_faults.max(1))
            .prop_map(|mut faults| {
                faults.sort_by_key(|f| f.at);
                faults
            })
            .prop_filter("two faults on one target at once, or every member gone", move |s| injectable(s, group_size))
            .boxed()
    }

    /// The least of everything: one fault of `kind`, for checking that the
    /// scenario takes that kind at all.
    pub fn sample(&self, kind: FaultKind) -> Schedule {
        vec![self.planned(kind, self.earliest, self.min_duration, 0)]
    }

    fn targets(&self, kind: FaultKind) -> &[u32] {
        if kind.on_broker() {
            &self.brokers
        } else {
            &self.members
        }
    }

    /// `target`: a position in the kind's list of targets.
    fn planned(&self, kind: FaultKind, at: u64, duration: u64, target: usize) -> Planned {
        let in_steps = |n: u64| Duration::from_nanos((self.step.as_nanos() as u64).saturating_mul(n));
        Planned {
            kind,
            at: in_steps(at),
            duration: if lasts(kind) { in_steps(duration) } else { Duration::ZERO },
            target: if kind == FaultKind::JoinConsumer { 0 } else { self.targets(kind)[target] },
        }
    }

    /// The `[[fault]]` a planned fault is, with the kind's defaults.
    pub fn fault(&self, p: &Planned) -> FaultSpec {
        let when = When { at: Some(p.at), ..When::default() };
        let (group, member, duration) = (self.group.clone(), p.target, p.duration);
        let broker = BrokerRef::Id(p.target);
        let (partition, on) = (None, None);
        match p.kind {
            FaultKind::PauseBroker => FaultSpec::PauseBroker { when, broker, partition, group: on, duration },
            FaultKind::RestartBroker => FaultSpec::RestartBroker {
                when,
                broker,
                partition,
                group: on,
                duration,
                restart: RestartMode::default(),
            },
            FaultKind::NetworkCut => {
                FaultSpec::NetworkCut { when, broker, partition, group: on, duration, cut: CutMode::default() }
            }
            FaultKind::IsolateBroker => FaultSpec::IsolateBroker { when, broker, partition, group: on, duration },
            FaultKind::CrashConsumer => FaultSpec::CrashConsumer { when, group, member, duration: Some(duration) },
            FaultKind::StallConsumer => FaultSpec::StallConsumer { when, group, member, duration },
            FaultKind::HoldRecord => FaultSpec::HoldRecord { when, group, member, duration },
            FaultKind::LeaveConsumer => FaultSpec::LeaveConsumer { when, group, member },
            FaultKind::JoinConsumer => FaultSpec::JoinConsumer { when, group },
            FaultKind::PauseFetch => {
                FaultSpec::PauseFetch { when, group, member: Some(member), duration, seek_to_end: false }
            }
        }
    }
}

/// Time a target is given after a fault on it ends (a crashed member's
/// replacement starting, a broker answering) before the next one.
const SETTLE: Duration = Duration::from_millis(500);

/// A schedule the runner can inject: no two faults on one broker or member
/// overlap (a member that crashed is not there until its replacement starts;
/// a paused broker cannot be paused again), nothing hits a member after it
/// left, and the group keeps a member (a joined one counts), or nothing
/// would drain it.
fn injectable(schedule: &[Planned], group_size: u32) -> bool {
    let mut busy_until: Vec<((bool, u32), Option<Duration>)> = Vec::new();
    let mut left = 0;
    for p in schedule.iter().filter(|p| p.kind != FaultKind::JoinConsumer) {
        let target = (p.kind.on_broker(), p.target);
        if let Some((_, until)) = busy_until.iter().find(|(t, _)| *t == target) {
            if until.is_none_or(|until| p.at < until) {
                return false;
            }
        }
        let until = match p.kind {
            FaultKind::LeaveConsumer => {
                left += 1;
                None
            }
            // A hold's time starts when a record arrives, up to HOLD_WAIT late.
            FaultKind::HoldRecord => Some(p.at + HOLD_WAIT + p.duration + SETTLE),
            _ => Some(p.at + p.duration + SETTLE),
        };
        busy_until.retain(|(t, _)| *t != target);
        busy_until.push((target, until));
    }
    let joined = schedule.iter().filter(|p| p.kind == FaultKind::JoinConsumer).count() as u32;
    left < group_size + joined
}

/// Whether the kind has a duration (a crash's is its replacement's delay).
fn lasts(kind: FaultKind) -> bool {
    !matches!(kind, FaultKind::LeaveConsumer | FaultKind::JoinConsumer)
}

/// "crash-consumer m1 at 2.3s (replaced 0.5s later)".
impl fmt::Display for Planned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (at, d) = (secs(self.at), secs(self.duration));
        let target =
            if self.kind.on_broker() { format!("broker {}", self.target) } else { format!("m{}", self.target) };
        match self.kind {
            FaultKind::CrashConsumer => write!(f, "{} {target} at {at} (replaced {d} later)", self.kind.name()),
            FaultKind::LeaveConsumer => write!(f, "{} {target} at {at}", self.kind.name()),
            FaultKind::JoinConsumer => write!(f, "{} at {at}", self.kind.name()),
            _ => write!(f, "{} {target} at {at} for {d}", self.kind.name()),
        }
    }
}

/// A schedule on one line: "stall-consumer m0 at 1s for 2s; crash-consumer m1 at 3s (...)".
pub fn describe(schedule: &[Planned]) -> String {
    schedule.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; ")
}

/// 2.3s, 0.05s, 12s.
fn secs(d: Duration) -> String {
    let s = format!("{:.3}", d.as_secs_f64());
    format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};

    const TEXT: &str = r#"
            [[producer]]
            records = 10
            [[group]]
            members = 3
            [run]
            timeout = "60s"
            [explore]
            kinds = ["crash-consumer", "leave-consumer", "pause-broker"]
            max_faults = 4
            earliest = "1s"
            latest = "20s"
            min_duration = "250ms"
            max_duration = "5s"
            step = "500ms"
            members = [1, 2]
        "#;

    fn scenario() -> Scenario {
        crate::scenario::parse(std::path::Path::new("t.toml"), TEXT).expect("valid")
    }

    #[test]
    fn every_schedule_lies_in_the_space_and_the_scenario_takes_it() {
        let s = scenario();
        let space = Space::new(&s, s.explore.as_ref().unwrap());
        let mut runner = TestRunner::new(Config { cases: 200, ..Config::default() });
        runner
            .run(&space.strategy(), |schedule| {
                prop_assert!((1..=4).contains(&schedule.len()));
                for (p, next) in schedule.iter().zip(schedule.iter().skip(1)) {
                    prop_assert!(p.at <= next.at, "in order of start");
                }
                for p in &schedule {
                    prop_assert!(p.at >= Duration::from_secs(1) && p.at <= Duration::from_secs(20));
                    prop_assert_eq!(p.at.as_millis() % 500, 0, "whole steps");
                    match p.kind {
                        FaultKind::LeaveConsumer => prop_assert_eq!(p.duration, Duration::ZERO),
                        // 250ms rounds up to one step.
                        _ => prop_assert!(
                            p.duration >= Duration::from_millis(500) && p.duration <= Duration::from_secs(5)
                        ),
                    }
                    match p.kind {
                        FaultKind::PauseBroker => prop_assert_eq!(p.target, 1),
                        _ => prop_assert!(p.target == 1 || p.target == 2, "only the members listed"),
                    }
                }
                // As a file, the schedule is one the loader takes.
                let faults: Vec<FaultSpec> = schedule.iter().map(|p| space.fault(p)).collect();
                let text = format!("{TEXT}\n{}", super::super::file::faults_toml(&faults));
                let back = crate::scenario::parse(std::path::Path::new("t.toml"), &text);
                prop_assert!(back.is_ok(), "{}", back.err().map(|e| e.to_string()).unwrap_or_default());
                prop_assert_eq!(back.unwrap().plan().len(), schedule.len());
                Ok(())
            })
            .expect("every schedule in bounds");
    }

    #[test]
    fn a_schedule_reads_as_a_person_would_write_it() {
        let s = scenario();
        let space = Space::new(&s, s.explore.as_ref().unwrap());
        let crash = Planned {
            kind: FaultKind::CrashConsumer,
            at: Duration::from_millis(2500),
            duration: Duration::from_millis(500),
            target: 1,
        };
        let pause = Planned {
            kind: FaultKind::PauseBroker,
            at: Duration::from_secs(3),
            duration: Duration::from_secs(4),
            target: 1,
        };
        assert_eq!(
            describe(&[crash.clone(), pause]),
            "crash-consumer m1 at 2.5s (replaced 0.5s later); pause-broker broker 1 at 3s for 4s"
        );
        assert_eq!(space.sample(FaultKind::LeaveConsumer)[0].to_string(), "leave-consumer m1 at 1s");
    }

    fn at(kind: FaultKind, at_ms: u64, duration_ms: u64, target: u32) -> Planned {
        Planned { kind, at: Duration::from_millis(at_ms), duration: Duration::from_millis(duration_ms), target }
    }

    #[test]
    fn no_schedule_aims_at_a_member_or_broker_that_is_not_there() {
        use FaultKind::*;
        // A crashed member is back only once its replacement has started.
        assert!(!injectable(&[at(CrashConsumer, 2000, 1000, 1), at(CrashConsumer, 3000, 100, 1)], 2));
        assert!(injectable(&[at(CrashConsumer, 2000, 1000, 1), at(CrashConsumer, 3500, 100, 1)], 2));
        assert!(injectable(&[at(CrashConsumer, 2000, 1000, 1), at(StallConsumer, 2100, 100, 0)], 2), "another member");
        // A paused broker is not paused again; the same number as a member is another target.
        assert!(!injectable(&[at(PauseBroker, 1000, 5000, 1), at(RestartBroker, 4000, 100, 1)], 2));
        assert!(injectable(&[at(PauseBroker, 1000, 5000, 1), at(StallConsumer, 2000, 100, 1)], 2));
        // Nothing hits a member after it left, and the group keeps one.
        assert!(!injectable(&[at(LeaveConsumer, 1000, 0, 1), at(StallConsumer, 9000, 100, 1)], 3));
        assert!(injectable(&[at(LeaveConsumer, 1000, 0, 1), at(LeaveConsumer, 1000, 0, 2)], 3));
        assert!(!injectable(&[at(LeaveConsumer, 1000, 0, 0), at(LeaveConsumer, 1000, 0, 1)], 2));
        assert!(injectable(
            &[at(JoinConsumer, 500, 0, 0), at(LeaveConsumer, 1000, 0, 0), at(LeaveConsumer, 1000, 0, 1)],
            2
        ));

        // Drawn and shrunk schedules alike: a random walk down the value
        // tree, as the search's shrinking walks it, never leaves the rule.
        let s = crate::scenario::parse(
            std::path::Path::new("t.toml"),
            &TEXT.replace("step = \"500ms\"", "step = \"100ms\"").replace("members = [1, 2]", "members = [1]"),
        )
        .expect("valid");
        let space = Space::new(&s, s.explore.as_ref().unwrap());
        let mut runner = TestRunner::deterministic();
        let strategy = space.strategy();
        for round in 0..200u32 {
            let mut tree = strategy.new_tree(&mut runner).expect("a schedule");
            for step in 0..40u32 {
                assert!(injectable(&tree.current(), 3), "{}", describe(&tree.current()));
                let more = if (round + step) % 3 == 0 { tree.complicate() } else { tree.simplify() };
                if !more {
                    break;
                }
            }
        }
    }
}
