//! What happened in a workload run, as the clients saw it: every publish and
//! its acknowledgement, every subscription, every delivery, every
//! connection, every fault. The checkers judge MQTT's promises over it.
//!
//! Messages are named by publisher and sequence number (`p2#17`): the
//! payload carries that name, so a delivery says which publish it is.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// Simulated milliseconds since the run began.
pub type Ms = u64;

/// A message: who published it and its number among that publisher's
/// messages (1, 2, ...). Wills are numbered by the connection that carried
/// them (`Will` with that connection's number).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct MsgId {
    pub publisher: String,
    pub seq: u32,
    pub will: bool,
}

impl fmt::Display for MsgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.will {
            write!(f, "{}'s will (connection {})", self.publisher, self.seq)
        } else {
            write!(f, "{}#{}", self.publisher, self.seq)
        }
    }
}

impl MsgId {
    /// The payload that carries this id (padded to the message's size by
    /// the caller).
    pub fn payload(&self) -> String {
        if self.will {
            format!("will:{}:{}", self.publisher, self.seq)
        } else {
            format!("msg:{}:{}", self.publisher, self.seq)
        }
    }

    /// Reads an id back from a payload (padding after a `|` is ignored).
    pub fn parse(payload: &[u8]) -> Option<MsgId> {
        let text = std::str::from_utf8(payload).ok()?;
        let text = text.split('|').next()?;
        let mut parts = text.splitn(3, ':');
        let kind = parts.next()?;
        let publisher = parts.next()?.to_owned();
        let seq = parts.next()?.parse().ok()?;
        match kind {
            "msg" => Some(MsgId {
                publisher,
                seq,
                will: false,
            }),
            "will" => Some(MsgId {
                publisher,
                seq,
                will: true,
            }),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A client's connection was accepted (CONNACK 0x00).
    Connected {
        at: Ms,
        client: String,
        /// 1, 2, ... per client.
        connection: u32,
        clean_start: bool,
        session_present: bool,
        /// The will this connection carries, if any (its id has
        /// `will: true` and `seq` = `connection`).
        will: Option<WillInfo>,
        /// When the client sent its CONNECT: nothing on this connection
        /// can have left the broker before.
        requested_at: Ms,
        /// 5.0: the Receive Maximum the CONNECT announced.
        #[serde(skip_serializing_if = "Option::is_none")]
        receive_maximum: Option<u16>,
        /// 5.0: the Session Expiry Interval (seconds) the CONNECT asked for.
        #[serde(skip_serializing_if = "Option::is_none")]
        session_expiry: Option<u32>,
    },
    /// The client sent DISCONNECT and closed (a normal end: no will).
    Disconnected {
        at: Ms,
        client: String,
        connection: u32,
    },
    /// The connection ended without the client's DISCONNECT (as the client
    /// saw it: closed by the broker, reset, or given up after a silent link).
    ConnectionLost {
        at: Ms,
        client: String,
        connection: u32,
        why: String,
    },
    /// A SUBSCRIBE went out asking for these filters at these QoS: until
    /// its SUBACK comes (if it does) the broker may or may not hold them.
    Subscribing {
        at: Ms,
        client: String,
        filters: Vec<(String, u8)>,
    },
    /// SUBACK granted `granted_qos` (0x80 and up: refused, `granted_qos` is None).
    Subscribed {
        at: Ms,
        client: String,
        filter: String,
        granted_qos: Option<u8>,
    },
    /// The first time the publisher sent this message (retransmissions are
    /// not new events).
    Published {
        at: Ms,
        id: MsgId,
        topic: String,
        qos: u8,
        retain: bool,
        /// 5.0: the Message Expiry Interval (seconds) it carried.
        #[serde(skip_serializing_if = "Option::is_none")]
        expiry: Option<u32>,
    },
    /// The broker took responsibility: PUBACK (QoS 1) or PUBREC (QoS 2)
    /// with a success code.
    Acked { at: Ms, id: MsgId },
    /// The QoS 2 flow completed (PUBCOMP).
    Completed { at: Ms, id: MsgId },
    /// A subscriber received a PUBLISH carrying this id. Every copy is an
    /// event, duplicates included; a QoS 2 PUBLISH again with a Packet
    /// Identifier still awaiting its PUBREL is the same delivery (`repeat`).
    Delivered {
        at: Ms,
        client: String,
        id: MsgId,
        topic: String,
        qos: u8,
        dup: bool,
        retain: bool,
        /// The connection it came on.
        connection: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        packet_id: Option<u16>,
        /// 5.0: the Message Expiry Interval it carried.
        #[serde(skip_serializing_if = "Option::is_none")]
        expiry: Option<u32>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        repeat: bool,
    },
    /// A CONNECT went out and no CONNACK came back: the broker may have
    /// taken it all the same (begun or resumed the session, then lost the
    /// connection).
    Unanswered {
        at: Ms,
        client: String,
        requested_at: Ms,
        /// It asked for a new session: if the broker took it, the session
        /// a later CONNECT resumes is that empty one.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        clean_start: bool,
    },
    /// A subscriber finished with a QoS 1 or 2 PUBLISH (PUBACK, or PUBCOMP
    /// after the PUBREL): a place in its Receive Maximum is free again.
    Freed {
        at: Ms,
        client: String,
        connection: u32,
        packet_id: u16,
    },
    /// The client opened a new connection with its client identifier
    /// while connection `old` is still open: the broker must close `old`.
    /// `answering`: the old connection goes on acknowledging what it
    /// receives (a device that does not know it was replaced); otherwise it
    /// answers nothing, as a half-open connection.
    Takeover {
        at: Ms,
        client: String,
        old: u32,
        answering: bool,
    },
    /// The old connection of a takeover ended: `closed` by the broker
    /// (with its DISCONNECT's reason code, 5.0, if one came first), or
    /// still open when the client stopped waiting for it.
    Superseded {
        at: Ms,
        client: String,
        connection: u32,
        closed: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        disconnect: Option<u8>,
    },
    /// The broker came back from a crash (`graceful`: a clean shutdown),
    /// keeping its state or not as its promise says (`kept`).
    BrokerRestarted { at: Ms, graceful: bool, kept: bool },
    /// A fault the schedule applied (`cut sub1`, `broker restart`, ...).
    Fault { at: Ms, what: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WillInfo {
    pub topic: String,
    pub qos: u8,
    /// The Keep Alive of the connection carrying it (seconds): the broker
    /// must notice the connection's loss within 1.5 times that, so it
    /// bounds when the will is due.
    pub keep_alive: u16,
}

impl Event {
    pub fn at(&self) -> Ms {
        match self {
            Event::Connected { at, .. }
            | Event::Disconnected { at, .. }
            | Event::ConnectionLost { at, .. }
            | Event::Subscribed { at, .. }
            | Event::Subscribing { at, .. }
            | Event::Published { at, .. }
            | Event::Acked { at, .. }
            | Event::Completed { at, .. }
            | Event::Delivered { at, .. }
            | Event::Freed { at, .. }
            | Event::Unanswered { at, .. }
            | Event::BrokerRestarted { at, .. }
            | Event::Takeover { at, .. }
            | Event::Superseded { at, .. }
            | Event::Fault { at, .. } => *at,
        }
    }
}

/// Who the clients are, as the checkers need to know them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Roles {
    /// Subscribers whose session the broker keeps across connections
    /// (Clean Start 0 and, in 5.0, a long Session Expiry Interval).
    pub kept_sessions: Vec<String>,
    /// Clients that subscribe to the publishers' wills (kept sessions, QoS 1).
    pub will_watchers: Vec<String>,
    /// The clients' Keep Alive in seconds (0: not said): a lost
    /// connection is noticed within 1.5 times that.
    #[serde(skip_serializing_if = "is_zero")]
    pub keep_alive: u16,
    /// The run speaks MQTT 5.0 (what the spec asks of a broker differs).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub v5: bool,
}

fn is_zero(n: &u16) -> bool {
    *n == 0
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct History {
    pub events: Vec<Event>,
    pub roles: Roles,
    /// Every retained topic's message as read by a fresh client after the
    /// run (topic → id), when the workload retains.
    pub retained_at_end: Option<BTreeMap<String, Option<MsgId>>>,
}

impl History {
    pub fn push(&mut self, e: Event) {
        self.events.push(e);
    }

    /// Faults within `window` ms of `at`, for a violation's context.
    pub fn faults_near(&self, at: Ms, window: Ms) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Fault { at: t, what } if t.abs_diff(at) <= window => {
                    Some(format!("{:.3}s {what}", *t as f64 / 1000.0))
                }
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_payloads() {
        let id = MsgId {
            publisher: "p1".into(),
            seq: 42,
            will: false,
        };
        let padded = format!("{}|xxxxxxxx", id.payload());
        assert_eq!(MsgId::parse(padded.as_bytes()), Some(id.clone()));
        assert_eq!(MsgId::parse(id.payload().as_bytes()), Some(id));
        let will = MsgId {
            publisher: "p1".into(),
            seq: 3,
            will: true,
        };
        assert_eq!(MsgId::parse(will.payload().as_bytes()), Some(will));
        assert_eq!(MsgId::parse(b"hello"), None);
    }
}
