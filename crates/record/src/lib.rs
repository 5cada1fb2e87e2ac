//! What a run leaves behind, for verdicts and reports to read: the trace of
//! a scripted run ([`trace`], [`script`]) and the history of a workload run
//! with the violations found in it ([`history`], [`violation`],
//! [`workload`]), what the network did with each packet ([`carried`]), and
//! what either advises ([`advisory`]).
//!
//! Plain data: it knows the scenario format, and nothing of how runs are
//! made (no simulator, no sockets) or how they are shown.

pub mod advisory;
pub mod carried;
pub mod history;
pub mod script;
pub mod trace;
pub mod violation;
pub mod workload;
