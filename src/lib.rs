//! gauntlet: an MQTT conformance and chaos test harness.
//!
//! Data flows one way: YAML ([`scenario`]) → a plan of runs and the runs in
//! the simulated or a real world ([`harness`]) → traces and histories
//! ([`record`]) → verdicts and reports ([`report`]). Each is a crate of the
//! workspace, so the compiler holds the format and the reports to knowing
//! nothing of how runs are made. This crate is the `gauntlet` command line
//! ([`cli`]) over them.

pub mod cli;

pub use harness::{engine, external, net, sim, suite, workload};
pub use {harness, record, report, scenario};
