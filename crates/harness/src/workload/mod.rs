//! Workloads: generated traffic under a random fault schedule, recorded as
//! a history and judged by checkers of MQTT's delivery promises.
//!
//! The format lives in `scenario::workload`, the history and its violations
//! in `record`; this module makes the runs: well-behaved clients
//! ([`client`]) and the end-of-run reader of retained messages
//! ([`probe`]), each connection through the wire monitor ([`wire`]), what
//! the seed decides ([`plan`]), the run and its faults ([`run`]), the
//! checkers ([`check`]), exploring seeds with shrinking ([`explore`]) and a
//! failing run written as a scripted scenario ([`export`]). It must
//! not know real brokers: `external` runs a workload through the
//! `WorkloadWorld` seam of [`run`].

pub mod check;
pub mod client;
pub mod explore;
pub mod export;
pub mod plan;
pub mod probe;
pub mod run;
pub mod wire;
