//! Workloads: generated traffic under a random fault schedule, recorded as
//! a history and judged by checkers of MQTT's delivery promises.

pub mod check;
pub mod client;
pub mod explore;
pub mod history;
pub mod model;
pub mod run;
