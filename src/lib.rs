//! gauntlet: an MQTT conformance and chaos test harness.
//!
//! Scenarios ([`scenario`]) run against the reference broker inside a
//! deterministic simulated network ([`sim`]); the [`runner`] executes their
//! steps and records a [`trace`].

pub mod backend;
pub mod baseline;
pub mod broker_ids;
pub mod capability;
pub mod cli;
pub mod compare;
pub mod coverage;
pub mod diagram;
pub mod external;
pub mod framed;
pub mod html;
pub mod props;
pub mod proxy;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod schema;
pub mod sim;
pub mod spec;
pub mod suite;
pub mod trace;
pub mod workload;
