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

pub mod checker;
pub mod cluster;
pub mod judge;
pub mod ledger;
pub mod nemesis;
pub mod progress;
pub mod proxy;
pub mod report;
pub mod runner;
pub mod scenario;
mod session;
pub mod sweep;
pub mod worker_check;
pub mod workers;

pub use checker::Verdict;
pub use judge::{Outcome, Status};
pub use scenario::Scenario;
pub use session::{recheck, run_scenario, Error, Session};
