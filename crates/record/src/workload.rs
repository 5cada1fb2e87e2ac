//! What a workload run leaves: its fault schedule, its history, the
//! violations the checkers found, and whether the world itself failed.

use serde::Serialize;

use scenario::workload::FaultKind;
use scenario::VersionName;

use crate::advisory::Advisory;
use crate::history::History;
use crate::violation::Violation;

/// One fault of a schedule: what, on whom, when, for how long.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScheduledFault {
    pub at_ms: u64,
    pub kind: FaultKind,
    /// The client it hits (none for the broker).
    pub target: Option<String>,
    pub length_ms: u64,
    /// Armed at `at_ms`, the fault falls right after this packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Trigger>,
}

impl ScheduledFault {
    /// The fault without its time or trigger, for the history (which has
    /// its own time, and says which packet fired it).
    pub fn what(&self) -> String {
        let mut s = self.kind.name().replace('_', " ");
        if let Some(t) = &self.target {
            s.push(' ');
            s.push_str(t);
        }
        if self.kind.lasts() {
            s.push_str(&format!(" for {} ms", self.length_ms));
        }
        s
    }
}

/// The packet a fault waits for: the `count`th of its type to arrive where
/// it was going on `by`'s link (at the broker if the client sent it), from
/// the time the fault is armed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Trigger {
    pub by: String,
    /// The client sent it (it fires once the broker has it), or received it.
    pub sent: bool,
    #[serde(serialize_with = "packet_name")]
    pub packet: protocol::PacketType,
    pub count: u32,
}

fn packet_name<S: serde::Serializer>(t: &protocol::PacketType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.name())
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nth = match self.count {
            1 => String::new(),
            n => format!("{} ", ordinal(n)),
        };
        let how = if self.sent { "sends" } else { "receives" };
        write!(f, "after the {nth}{} {} {how}", self.packet, self.by)
    }
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

impl std::fmt::Display for ScheduledFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.3}s {}", self.at_ms as f64 / 1000.0, self.what())?;
        if let Some(t) = &self.after {
            write!(f, ", {t}")?;
        }
        Ok(())
    }
}

/// The run as a total queue, for one QoS (as Jepsen's total-queue
/// checker counts): what was attempted and acknowledged at the publishers,
/// and, per (message, subscriber it was due to), what came out. A summary,
/// not a verdict: the checkers say what of it the QoS allows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QueueLine {
    pub qos: u8,
    /// Messages published.
    pub attempted: u64,
    /// Of them, acknowledged by the broker (QoS 1 and 2).
    pub acknowledged: u64,
    /// (message, subscriber) pairs that arrived at least once.
    pub delivered: u64,
    /// Pairs owed and never arrived: an acknowledged message without an
    /// expiry, at an effective QoS of 1 or 2, to a kept session subscribed
    /// when it was published and not ended since — what `at_least_once`
    /// and `exactly_once` count as losses (none on a passing run).
    pub lost: u64,
    /// Pairs due (a matching subscription when it was published; for QoS
    /// 1 and 2, an acknowledged message) that never arrived, but that no
    /// promise covered: QoS 0 (published or granted), a clean or ended
    /// session, or an expiring message (`no_expired_delivery` judges
    /// those).
    pub dropped: u64,
    /// Pairs that arrived more often than the subscriptions allow.
    pub duplicated: u64,
    /// Deliveries of messages nobody published.
    pub unexpected: u64,
    /// Pairs that arrived though the publisher never had the message
    /// acknowledged.
    pub recovered: u64,
}

#[derive(Clone, Debug)]
pub struct Outcome {
    pub version: VersionName,
    pub seed: u64,
    pub faults: Vec<ScheduledFault>,
    pub history: History,
    pub violations: Vec<Violation>,
    pub sim_ms: u64,
    /// The world itself failed (a host's software); not a broker verdict.
    pub error: Option<String>,
    /// What else the run has to say (a clean-up that failed).
    pub notes: Vec<String>,
    /// The real broker it ran against (none: the reference broker in
    /// simulation, where the seed replays it exactly).
    pub broker: Option<String>,
    /// What the run advises (SHOULDs the broker did not follow).
    pub advisories: Vec<Advisory>,
    /// The statements its checkers assert (sorted): what a passing run
    /// covers.
    pub asserted: Vec<String>,
    /// The total-queue summary, one line per QoS published.
    pub queue: Vec<QueueLine>,
    /// What the network did with each packet (the fault proxy's log on a
    /// real broker; empty where nothing logged it).
    pub carried: Vec<crate::carried::Carried>,
}

impl Outcome {
    /// A run that could not be made, and why.
    pub fn failed(
        version: VersionName,
        seed: u64,
        faults: &[ScheduledFault],
        error: String,
    ) -> Outcome {
        Outcome {
            version,
            seed,
            faults: faults.to_vec(),
            history: History::default(),
            violations: Vec::new(),
            sim_ms: 0,
            error: Some(error),
            notes: Vec::new(),
            broker: None,
            advisories: Vec::new(),
            asserted: Vec::new(),
            queue: Vec::new(),
            carried: Vec::new(),
        }
    }

    pub fn passed(&self) -> bool {
        self.violations.is_empty() && self.error.is_none()
    }
}
