//! Scenarios against a real broker over real TCP (and TLS): a fault proxy
//! per client, broker profiles that start, crash and restart brokers, and
//! the bookkeeping that lets many runs share one broker.
//!
//! Real sockets and real time only: it must not know the simulated world
//! (`sim`); runs reach it through the engine's `Backend` and the workload's
//! `WorkloadWorld` seams.

pub mod cleanup;
pub mod install;
pub mod instance;
pub mod isolate;
pub mod profile;
pub mod proxy;
pub mod session;
pub mod settings;
pub mod world;
