//! faultline: a fault-injection test harness for Kafka consumer delivery
//! semantics.
//!
//! A [`scenario`] describes a cluster, a workload and a fault schedule. The
//! [`runner`] starts the [`cluster`], runs producer and consumer [`workers`]
//! as child processes, lets the [`nemesis`] inject faults, and records every
//! event in the [`ledger`]. The [`checker`] is a pure function from the
//! ledger to a verdict; the [`report`] shows it.

pub mod checker;
pub mod cluster;
pub mod ledger;
pub mod nemesis;
pub mod proxy;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod workers;
