//! One scripted run: the steps of a scenario carried out by its clients,
//! each expectation matched against what the broker sends, in whatever
//! world implements [`Backend`] (the simulator or real TCP).
//!
//! It knows the scenario format and the scripted client; it must not know
//! which world it runs in (no turmoil world, no broker profiles).

pub mod backend;
pub mod broker_ids;
pub mod matching;
pub mod progress;
pub mod run;
mod steps;

pub use backend::Backend;
pub use matching::check_packet;
pub use progress::Progress;
pub use run::{run_watched, run_with, step_text, DEFAULT_TIMEOUT_MS};
