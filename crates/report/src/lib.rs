//! Reports: what gauntlet says of runs, read from their records.
//!
//! Owns what came of a run ([`outcome`]: one type for every report), the
//! record of a run and the results files ([`results`]: JSON and
//! JUnit), the terminal's failure reports ([`text`]), sequence diagrams
//! ([`diagram`]), the HTML pages ([`html`]), the comparison of brokers
//! ([`compare`]), spec coverage ([`coverage`]) and baselines of known
//! failures ([`baseline`]). It reads traces and histories and knows nothing
//! of how runs are made: this crate does not depend on the engine.

pub mod baseline;
pub mod compare;
pub mod coverage;
pub mod diagram;
pub mod html;
pub mod markup;
pub mod outcome;
pub mod prefix;
pub mod results;
pub mod text;
