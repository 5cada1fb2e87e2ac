//! What the network did with each packet between a client and the broker:
//! when it left, and whether it arrived (on time, late after a stall), was
//! lost to a cut, or went down with a reset connection.
//!
//! The fault proxy writes this log for real brokers (it frames every packet
//! both ways); diagrams read it to draw the network as it was rather than
//! as the client saw it.

use serde::{Deserialize, Serialize};

/// Which way a packet went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Toward {
    /// Sent by the client.
    Broker,
    /// Sent by the broker.
    Client,
}

/// What became of a packet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fate", rename_all = "snake_case")]
pub enum Fate {
    /// Arrived at `at_ms`, held by nothing but the link's latency.
    Passed { at_ms: u64 },
    /// Held by a stall, and arrived at `at_ms` once it ended.
    Held { at_ms: u64 },
    /// Dropped by a cut: sent into it, in flight when it fell, or after a
    /// gap the cut left in the stream.
    Lost,
    /// Its connection was reset before it arrived.
    Reset,
    /// Still on its way when the log ended.
    Pending,
}

impl Fate {
    /// When it arrived, if it did.
    pub fn arrived(&self) -> Option<u64> {
        match self {
            Fate::Passed { at_ms } | Fate::Held { at_ms } => Some(*at_ms),
            Fate::Lost | Fate::Reset | Fate::Pending => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Fate::Passed { .. } => "passed",
            Fate::Held { .. } => "held",
            Fate::Lost => "lost",
            Fate::Reset => "reset",
            Fate::Pending => "pending",
        }
    }
}

/// One packet on one connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carried {
    /// The client whose link carried it (as the workload or scenario names
    /// it).
    pub client: String,
    /// Which of the client's connections, from 1.
    pub conn: u32,
    pub toward: Toward,
    /// The packet, as the trace describes it (`trace::describe`).
    pub label: String,
    /// When it left its sender.
    pub sent_ms: u64,
    #[serde(flatten)]
    pub fate: Fate,
    /// The packet fired a fault ("cut s1 for 2000 ms").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired: Option<String>,
}

impl std::fmt::Display for Carried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let arrow = match self.toward {
            Toward::Broker => "->",
            Toward::Client => "<-",
        };
        write!(
            f,
            "{:>9.3}s {}#{} {arrow} {} {}",
            self.sent_ms as f64 / 1000.0,
            self.client,
            self.conn,
            self.label,
            self.fate.name()
        )?;
        if let Some(at) = self.fate.arrived() {
            write!(f, " at {:.3}s", at as f64 / 1000.0)?;
        }
        if let Some(fired) = &self.fired {
            write!(f, " (fired: {fired})")?;
        }
        Ok(())
    }
}
