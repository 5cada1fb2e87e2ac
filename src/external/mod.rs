//! Scenarios against a real broker over real TCP (and TLS): a fault proxy
//! per client, broker profiles that start, crash and restart brokers, and
//! the bookkeeping that lets many runs share one broker.

pub mod cleanup;
pub mod install;
pub mod instance;
pub mod isolate;
pub mod profile;
pub mod session;
pub mod settings;
pub mod tls;
pub mod world;
