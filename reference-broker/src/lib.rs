//! The gauntlet reference broker: the strict reading of MQTT 3.1.1 and 5.0.
//!
//! - [`Broker`]: the sans-I/O core — events in, actions out.
//! - `server`: a thin tokio driver serving any `AsyncRead + AsyncWrite`.
//! - [`store`]: persistence of sessions and retained messages.
//!
//! Cargo features:
//!
//! - `server` (default): the tokio driver (`server` module) and the
//!   `reference-broker` binary. Without it the crate is the core, its
//!   [`Config`] and the store, with no tokio: what a crate that only reads
//!   broker settings needs (`default-features = false`).
//! - `defects` (off by default, tests only): deliberate broker bugs, to show
//!   that gauntlet's checkers catch them — `Bug` and `Config::bugs`. Without
//!   it neither exists, a config file naming `bugs` is refused, and the
//!   broker has none.

pub mod broker;
pub mod config;
mod defects;
#[cfg(feature = "server")]
pub mod server;
pub mod store;

pub use broker::{Action, Broker, ConnId, Millis};
pub use config::Config;
#[cfg(feature = "defects")]
pub use defects::Bug;
