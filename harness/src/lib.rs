//! faultline: a fault-injection test harness for Kafka consumer delivery
//! semantics.
//!
//! A [`scenario`] describes a cluster, a workload and a fault schedule. The
//! [`runner`] starts the [`cluster`], runs producer and consumer [`workers`]
//! as child processes, lets the [`nemesis`] inject faults, and records every
//! event in the [`ledger`]. The [`checker`] is a pure function from the
//! ledger to a [`Verdict`]; the [`judge`] holds it against the scenario's
//! expectations ([`Outcome`]: pass, fail or cannot judge); the [`report`]
//! renders the outcome. [`run_scenario`] and [`Session`] do all of it.
//!
//! The modules are layered (README, "How it works"); a test keeps each one
//! from importing a module above it.

// The ledger, the checker, the scenario loader and the judge need none of
// the engine's dependencies (librdkafka, tokio, Docker's client): fuzz/
// builds them alone.
pub mod checker;
pub mod judge;
pub mod ledger;
pub mod scenario;

#[cfg(feature = "engine")]
pub mod cluster;
#[cfg(feature = "engine")]
pub mod explore;
#[cfg(feature = "engine")]
pub mod nemesis;
#[cfg(feature = "engine")]
pub mod progress;
#[cfg(feature = "engine")]
pub mod proxy;
#[cfg(feature = "engine")]
pub mod report;
#[cfg(feature = "engine")]
pub mod runner;
#[cfg(feature = "engine")]
mod session;
#[cfg(feature = "engine")]
pub mod sweep;
#[cfg(feature = "engine")]
pub mod worker_check;
#[cfg(feature = "engine")]
pub mod workers;

pub use checker::Verdict;
pub use judge::{Outcome, Status};
pub use scenario::Scenario;
#[cfg(feature = "engine")]
pub use session::{recheck, run_scenario, stop_on_ctrl_c, Error, Session};
