//! The runs themselves: everything between a loaded scenario and its
//! records.
//!
//! A plan of many runs ([`suite`]) → one run in a world ([`engine`] for
//! scripts, [`workload`] for generated traffic; the world is [`sim`], the
//! turmoil simulation, or [`external`], a real broker through fault proxies;
//! both talk MQTT through [`net`]) → a trace or history (the `record`
//! crate), judged and written as records for the `report` crate.

pub mod engine;
pub mod external;
pub mod net;
pub mod sim;
pub mod suite;
pub mod workload;
