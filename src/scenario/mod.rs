//! Scenarios: the YAML format, loading with located errors, and checking.

pub mod load;
pub mod model;
pub mod values;

pub use load::{load_file, load_str, LoadError};
pub use model::*;
