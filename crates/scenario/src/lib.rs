//! The scenario format: what a YAML file says and nothing of how it runs.
//!
//! Owns the model of scripted scenarios ([`model`], [`steps`], [`values`],
//! [`props`]) and of workloads ([`workload`]), loading with every mistake
//! of a file located at file:line:column ([`load`], through a located YAML
//! [`tree`] the model is read from by [`de`], and the checks of what the
//! types cannot say in `check`), the JSON Schema for editors ([`schema`]),
//! the normative statements scenarios cite ([`spec`]), the capability names
//! a broker profile may lack ([`capability`]) and finding a suite's files
//! ([`discover`]). It must not know turmoil, tokio or TCP: the compiler
//! holds it to that, since this crate does not depend on them.

pub mod capability;
mod check;
pub mod de;
pub mod discover;
pub mod load;
mod located;
pub mod model;
pub mod props;
pub mod schema;
pub mod spec;
pub mod steps;
mod sweep;
pub mod tree;
pub mod values;
mod vary;
pub use vary::{Announced, LARGEST_PACKET};
pub mod workload;

pub use load::{load_file, load_str, load_variants, load_variants_str, LoadError, LoadErrors};
pub use located::Located;
pub use model::*;
pub use steps::*;
