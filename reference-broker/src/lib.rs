//! The gauntlet reference broker: the strict reading of MQTT 3.1.1 and 5.0.
//!
//! - [`Broker`]: the sans-I/O core — events in, actions out.
//! - [`server`]: a thin tokio driver serving any `AsyncRead + AsyncWrite`.
//! - [`store`]: persistence of sessions and retained messages.

pub mod broker;
pub mod config;
pub mod server;
pub mod store;

pub use broker::{Action, Broker, ConnId, Millis};
pub use config::{Bug, Config};
