//! What the monitor knows of a client's session on the broker, which
//! outlives connections when the session is kept: the QoS 1/2 messages in
//! flight to the client (by packet identifier) and the QoS each
//! subscription was granted. It knows only what it saw: a session resumed
//! from before it watched, or one another connection with the same client
//! id may have changed meanwhile, is not judged until a new session starts.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use bytes::Bytes;
use protocol::topic::{self, SharedFilter};
use protocol::{QoS, Subscribe};

/// How many CONNECTs each client id has had in a run, across all its
/// clients: two scenario clients may share one id (a takeover), and one
/// must not trust what it knew of a session the other has used since.
#[derive(Clone, Debug, Default)]
pub struct ClientIds(Rc<RefCell<BTreeMap<String, u64>>>);

impl ClientIds {
    /// Counts a CONNECT with `id`; returns the count before it.
    fn bump(&self, id: &str) -> u64 {
        let mut m = self.0.borrow_mut();
        let n = m.entry(id.to_owned()).or_insert(0);
        *n += 1;
        *n - 1
    }
}

/// A QoS 1/2 message in flight to the client.
#[derive(Clone, Debug)]
pub(super) struct Flight {
    pub qos: QoS,
    /// None when the PUBLISH used a Topic Alias the monitor could not resolve.
    pub topic: Option<String>,
    pub payload: Bytes,
    /// QoS 2: the client sent PUBREC; the id stays in use until PUBCOMP.
    pub pubrec_sent: bool,
}

impl Flight {
    /// The same Application Message (a redelivery), as far as can be told.
    pub fn same_message(&self, topic: Option<&str>, payload: &Bytes) -> bool {
        let same_topic = match (self.topic.as_deref(), topic) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        same_topic && self.payload == *payload
    }

    /// For breach texts: what the id is still held by.
    pub fn describe(&self) -> String {
        let topic = self
            .topic
            .as_deref()
            .unwrap_or("(an unresolved topic alias)");
        let awaiting = match (self.qos, self.pubrec_sent) {
            (QoS::AtLeastOnce, _) => "PUBACK",
            (_, false) => "PUBREC",
            (_, true) => "PUBCOMP",
        };
        format!(
            "a QoS {} message on {topic:?} the client has not acknowledged: no {awaiting} yet",
            self.qos as u8
        )
    }
}

#[derive(Debug, Default)]
pub(super) struct Session {
    /// The client id of the last CONNECT, and the count `ClientIds` had
    /// after it.
    key: Option<(String, u64)>,
    pub inflight: BTreeMap<u16, Flight>,
    /// Every subscription made in this session since the monitor knew it,
    /// with the highest QoS ever granted to it. Never lowered nor removed:
    /// a message queued under an earlier grant may still arrive after a
    /// re-subscription or an UNSUBSCRIBE (MQTT-3.10.4-3).
    granted: BTreeMap<String, QoS>,
    /// The monitor saw the session start, so `granted` is all of it.
    known: bool,
    /// SUBSCRIBEs sent and not yet answered, by packet id: their filters.
    pending: BTreeMap<u16, Vec<String>>,
}

impl Session {
    /// A CONNECT with `client_id` was sent: whether what the monitor knows
    /// of that session is still all there is to know (no other connection
    /// used the id since this monitor's last CONNECT with it).
    pub fn connect(&mut self, client_id: &str, ids: &ClientIds) -> bool {
        if client_id.is_empty() {
            // The broker assigns an id: a new session.
            self.key = None;
            return false;
        }
        let before = ids.bump(client_id);
        let fresh = self
            .key
            .as_ref()
            .is_some_and(|(id, seen)| id == client_id && *seen == before);
        self.key = Some((client_id.to_owned(), before + 1));
        fresh
    }

    /// The broker assigned `id` (5.0 Assigned Client Identifier).
    pub fn assigned(&mut self, id: &str, ids: &ClientIds) {
        let before = ids.bump(id);
        self.key = Some((id.to_owned(), before + 1));
    }

    /// A session the monitor sees begin: nothing in flight, no subscriptions.
    pub fn start(&mut self) {
        self.inflight.clear();
        self.granted.clear();
        self.pending.clear();
        self.known = true;
    }

    /// What the monitor knew may be wrong now: forget it, judge no more
    /// granted QoS until a new session starts.
    pub fn forget(&mut self) {
        self.inflight.clear();
        self.granted.clear();
        self.pending.clear();
        self.known = false;
    }

    /// The connection ended: a SUBSCRIBE not yet answered may or may not
    /// have been applied, with a grant the monitor will never see.
    pub fn connection_closed(&mut self) {
        if !self.pending.is_empty() {
            self.pending.clear();
            self.known = false;
        }
    }

    /// The client freed `id` (PUBACK, PUBCOMP, or PUBREC with an error).
    pub fn acked(&mut self, id: u16) {
        self.inflight.remove(&id);
    }

    pub fn pubrec_sent(&mut self, id: u16) {
        if let Some(f) = self.inflight.get_mut(&id) {
            f.pubrec_sent = true;
        }
    }

    /// Returns false when the id was already waiting for an answer: the
    /// client broke the protocol (MQTT-2.2.1-3), and which SUBSCRIBE a
    /// SUBACK answers is unclear.
    pub fn subscribe_sent(&mut self, s: &Subscribe) -> bool {
        let filters = s.filters.iter().map(|f| f.filter.clone()).collect();
        if self.pending.insert(s.packet_id, filters).is_some() {
            self.known = false;
            return false;
        }
        true
    }

    /// The filters of the SUBSCRIBE `id` answers, if one is waiting.
    pub fn take_pending(&mut self, id: u16) -> Option<Vec<String>> {
        self.pending.remove(&id)
    }

    pub fn grant(&mut self, filter: &str, qos: QoS) {
        let g = self.granted.entry(filter.to_owned()).or_insert(qos);
        *g = (*g).max(qos);
    }

    /// A SUBACK did not pair its codes with the filters.
    pub fn grants_unclear(&mut self) {
        self.known = false;
    }

    /// The highest QoS any subscription matching `topic` was granted, when
    /// that can be told: the monitor knows every subscription and no
    /// SUBSCRIBE for a matching filter is awaiting its SUBACK (retained
    /// messages may come before it). None also when nothing matches: a
    /// message may follow an UNSUBSCRIBE the monitor did not see applied.
    pub fn max_granted(&self, topic: &str) -> Option<QoS> {
        if !self.known {
            return None;
        }
        let pending = self
            .pending
            .values()
            .flatten()
            .any(|f| filter_matches(f, topic));
        if pending {
            return None;
        }
        self.granted
            .iter()
            .filter(|(f, _)| filter_matches(f, topic))
            .map(|(_, q)| *q)
            .max()
    }
}

/// A shared subscription `$share/group/filter` matches on its filter; the
/// filter as written is tried too, for a broker that does not know shared
/// subscriptions (then the larger grant counts, never a false breach).
fn filter_matches(filter: &str, topic: &str) -> bool {
    let inner = match SharedFilter::parse(filter) {
        Ok(Some(shared)) => topic::matches(shared.filter, topic),
        _ => false,
    };
    inner || topic::matches(filter, topic)
}
