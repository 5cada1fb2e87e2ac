//! Checkers of MQTT's delivery promises over a workload [`History`].
//!
//! A run ends with every fault healed and a quiet drain, so whatever must
//! arrive has had its chance: a missing delivery is a loss, not a delay.
//!
//! The subscriptions a delivery or a publish is judged against come from
//! the `Subscribed` events (refused ones ignored). A subscription is live
//! from its SUBACK (`Subscribed.at`, inclusive) until a later SUBACK for
//! the same filter replaces it or, for a client that is not in
//! `roles.kept_sessions`, until a `Connected` that starts a new session
//! (Clean Start, or no session present). Kept sessions never lose a
//! subscription: if the broker forgot one, the loss shows as such.
//!
//! Each checker reports its own promise only, so that one fault is one
//! violation: losses are `at_least_once` (effective QoS 1) and
//! `exactly_once` (effective QoS 2); duplicates are `at_most_once` (QoS 0)
//! and `exactly_once`; `routes_match_filters` reports only deliveries that
//! should not have happened (no matching filter, another topic, a message
//! nobody published), never a missing one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::history::{Event, History, Ms, MsgId, WillInfo};

/// Faults this close to a violation are listed with it.
const FAULT_WINDOW: Ms = 5_000;

/// A promise the broker broke, as found in a history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The checker's name (`exactly_once`, ...).
    pub check: &'static str,
    /// The message concerned, if one is.
    pub message: Option<MsgId>,
    pub publisher: Option<String>,
    pub subscriber: Option<String>,
    /// When it became a violation (the duplicate delivery, the publish that
    /// was never delivered, ...).
    pub at: Ms,
    /// One line: what was promised and what happened instead.
    pub what: String,
    /// Faults around `at` (`History::faults_near(at, 5_000)`).
    pub faults: Vec<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.check, self.what)?;
        if !self.faults.is_empty() {
            write!(f, "\n  faults around: {}", self.faults.join("; "))?;
        }
        Ok(())
    }
}

/// The checkers, by the promise they judge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    AtMostOnce,
    AtLeastOnce,
    ExactlyOnce,
    OrderedPerPublisher,
    RoutesMatchFilters,
    RetainedLatest,
    WillOnAbnormalDisconnect,
}

impl Check {
    pub const ALL: [Check; 7] = [
        Check::AtMostOnce,
        Check::AtLeastOnce,
        Check::ExactlyOnce,
        Check::OrderedPerPublisher,
        Check::RoutesMatchFilters,
        Check::RetainedLatest,
        Check::WillOnAbnormalDisconnect,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Check::AtMostOnce => "at_most_once",
            Check::AtLeastOnce => "at_least_once",
            Check::ExactlyOnce => "exactly_once",
            Check::OrderedPerPublisher => "ordered_per_publisher",
            Check::RoutesMatchFilters => "routes_match_filters",
            Check::RetainedLatest => "retained_latest",
            Check::WillOnAbnormalDisconnect => "will_on_abnormal_disconnect",
        }
    }

    /// The promise, in one line (for help texts).
    pub fn promise(self) -> &'static str {
        match self {
            Check::AtMostOnce => "a QoS 0 message reaches each subscriber at most once",
            Check::AtLeastOnce => {
                "an acknowledged message reaches every kept-session subscriber at QoS 1"
            }
            Check::ExactlyOnce => "a QoS 2 message reaches each subscriber once, never twice",
            Check::OrderedPerPublisher => {
                "one publisher's messages on a topic and QoS arrive in publish order"
            }
            Check::RoutesMatchFilters => {
                "a subscriber receives only what its filters match, on the published topic"
            }
            Check::RetainedLatest => "each topic retains its last acknowledged retained message",
            Check::WillOnAbnormalDisconnect => {
                "a will is published when a connection is lost, never after DISCONNECT"
            }
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Check {
    type Err = String;

    fn from_str(s: &str) -> Result<Check, String> {
        Check::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Check::ALL.iter().map(|c| c.name()).collect();
                format!("unknown checker {s:?} (known: {})", known.join(", "))
            })
    }
}

/// Runs one checker. Violations come in order of `at`.
pub fn run(check: Check, h: &History) -> Vec<Violation> {
    run_on(check, &Index::new(h))
}

/// Runs each checker once (repeats ignored), in the order given; each
/// checker's violations in order of `at`.
pub fn run_all(checks: &[Check], h: &History) -> Vec<Violation> {
    let ix = Index::new(h);
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for &c in checks {
        if done.insert(c) {
            out.extend(run_on(c, &ix));
        }
    }
    out
}

fn run_on(check: Check, ix: &Index<'_>) -> Vec<Violation> {
    let mut v = match check {
        Check::AtMostOnce => at_most_once(ix),
        Check::AtLeastOnce => at_least_once(ix),
        Check::ExactlyOnce => exactly_once(ix),
        Check::OrderedPerPublisher => ordered_per_publisher(ix),
        Check::RoutesMatchFilters => routes_match_filters(ix),
        Check::RetainedLatest => retained_latest(ix),
        Check::WillOnAbnormalDisconnect => will_on_abnormal_disconnect(ix),
    };
    v.sort_by(|a, b| {
        (a.at, &a.message, &a.subscriber, &a.what).cmp(&(b.at, &b.message, &b.subscriber, &b.what))
    });
    v
}

// ---------------------------------------------------------------------------
// What the history says, indexed.

/// A granted subscription and when it was live: `at <= t < until`.
#[derive(Clone, Copy, Debug)]
struct Sub<'a> {
    filter: &'a str,
    granted: u8,
    at: Ms,
    until: Option<Ms>,
}

impl Sub<'_> {
    fn live(&self, t: Ms) -> bool {
        self.at <= t && self.until.is_none_or(|u| t < u)
    }
}

#[derive(Clone, Copy, Debug)]
struct Conn<'a> {
    at: Ms,
    will: Option<&'a WillInfo>,
    /// When it ended, and whether normally (DISCONNECT).
    end: Option<(Ms, bool)>,
}

/// A message as published (or, for a will, as its connection carried it).
#[derive(Clone, Copy, Debug)]
struct Msg<'a> {
    topic: &'a str,
    qos: u8,
    /// Published (a will: when its connection ended, else when it began).
    at: Ms,
    /// PUBACK / PUBREC / PUBCOMP, the first of them.
    acked: Option<Ms>,
}

#[derive(Clone, Copy, Debug)]
struct Delivery<'a> {
    at: Ms,
    client: &'a str,
    id: &'a MsgId,
    topic: &'a str,
    retain: bool,
}

struct Index<'a> {
    h: &'a History,
    kept: BTreeSet<&'a str>,
    subs: BTreeMap<&'a str, Vec<Sub<'a>>>,
    /// client → connection number → connection.
    conns: BTreeMap<&'a str, BTreeMap<u32, Conn<'a>>>,
    msgs: BTreeMap<&'a MsgId, Msg<'a>>,
    /// Retained publishes per topic, in publish order.
    retained_pubs: BTreeMap<&'a str, Vec<&'a MsgId>>,
    deliveries: Vec<Delivery<'a>>,
    /// receiver → message → indices into `deliveries`, in order.
    received: BTreeMap<&'a str, BTreeMap<&'a MsgId, Vec<usize>>>,
    end: Ms,
}

impl<'a> Index<'a> {
    fn new(h: &'a History) -> Index<'a> {
        let kept: BTreeSet<&str> = h.roles.kept_sessions.iter().map(String::as_str).collect();
        let mut ix = Index {
            h,
            kept,
            subs: BTreeMap::new(),
            conns: BTreeMap::new(),
            msgs: BTreeMap::new(),
            retained_pubs: BTreeMap::new(),
            deliveries: Vec::new(),
            received: BTreeMap::new(),
            end: 0,
        };
        // In time order (a stable sort: same-millisecond events keep the
        // order they were recorded in).
        let mut events: Vec<&'a Event> = h.events.iter().collect();
        events.sort_by_key(|e| e.at());
        for e in events {
            ix.end = ix.end.max(e.at());
            match e {
                Event::Connected {
                    at,
                    client,
                    connection,
                    clean_start,
                    session_present,
                    will,
                } => {
                    ix.conns
                        .entry(client.as_str())
                        .or_default()
                        .entry(*connection)
                        .or_insert(Conn {
                            at: *at,
                            will: will.as_ref(),
                            end: None,
                        });
                    let new_session = *clean_start || !*session_present;
                    if new_session && !ix.kept.contains(client.as_str()) {
                        for s in ix.subs.entry(client.as_str()).or_default() {
                            if s.until.is_none() {
                                s.until = Some(*at);
                            }
                        }
                    }
                }
                Event::Disconnected {
                    at,
                    client,
                    connection,
                }
                | Event::ConnectionLost {
                    at,
                    client,
                    connection,
                    ..
                } => {
                    let normal = matches!(e, Event::Disconnected { .. });
                    let conn = ix
                        .conns
                        .get_mut(client.as_str())
                        .and_then(|cs| cs.get_mut(connection));
                    if let Some(c) = conn {
                        c.end.get_or_insert((*at, normal));
                    }
                }
                Event::Subscribed {
                    at,
                    client,
                    filter,
                    granted_qos: Some(granted),
                } => {
                    let subs = ix.subs.entry(client.as_str()).or_default();
                    for s in subs.iter_mut() {
                        if s.filter == filter && s.until.is_none() {
                            s.until = Some(*at);
                        }
                    }
                    subs.push(Sub {
                        filter,
                        granted: *granted,
                        at: *at,
                        until: None,
                    });
                }
                Event::Subscribed { .. } => {}
                Event::Published {
                    at,
                    id,
                    topic,
                    qos,
                    retain,
                } => {
                    if ix.msgs.contains_key(id) {
                        continue;
                    }
                    ix.msgs.insert(
                        id,
                        Msg {
                            topic,
                            qos: *qos,
                            at: *at,
                            acked: None,
                        },
                    );
                    if *retain {
                        ix.retained_pubs.entry(topic.as_str()).or_default().push(id);
                    }
                }
                Event::Acked { at, id } | Event::Completed { at, id } => {
                    if let Some(m) = ix.msgs.get_mut(id) {
                        m.acked.get_or_insert(*at);
                    }
                }
                Event::Delivered {
                    at,
                    client,
                    id,
                    topic,
                    retain,
                    ..
                } => {
                    ix.received
                        .entry(client.as_str())
                        .or_default()
                        .entry(id)
                        .or_default()
                        .push(ix.deliveries.len());
                    ix.deliveries.push(Delivery {
                        at: *at,
                        client,
                        id,
                        topic,
                        retain: *retain,
                    });
                }
                Event::Fault { .. } => {}
            }
        }
        ix
    }

    /// The message as published; a will as its connection carried it.
    fn message(&self, id: &MsgId) -> Option<Msg<'a>> {
        if !id.will {
            return self.msgs.get(id).copied();
        }
        let c = self.conn(&id.publisher, id.seq)?;
        let w = c.will?;
        Some(Msg {
            topic: &w.topic,
            qos: w.qos,
            at: c.end.map_or(c.at, |(t, _)| t),
            acked: None,
        })
    }

    fn conn(&self, client: &str, n: u32) -> Option<&Conn<'a>> {
        self.conns.get(client)?.get(&n)
    }

    /// Indices into `deliveries` of the copies of `id` that `client` got.
    fn copies(&self, client: &str, id: &MsgId) -> &[usize] {
        self.received
            .get(client)
            .and_then(|m| m.get(id))
            .map_or(&[], Vec::as_slice)
    }

    fn subs_of(&self, client: &str) -> &[Sub<'a>] {
        self.subs.get(client).map_or(&[], Vec::as_slice)
    }

    /// The client's live subscription matching `topic` at `t` with the
    /// highest granted QoS (the earliest of equals).
    fn best_sub(&self, client: &str, topic: &str, t: Ms) -> Option<Sub<'a>> {
        let mut best: Option<Sub<'a>> = None;
        for s in self.subs_of(client) {
            if s.live(t)
                && protocol::topic::matches(s.filter, topic)
                && best.is_none_or(|b| s.granted > b.granted)
            {
                best = Some(*s);
            }
        }
        best
    }

    fn deliveries_of(&self, client: &str, id: &MsgId) -> Vec<Delivery<'a>> {
        self.copies(client, id)
            .iter()
            .map(|&i| self.deliveries[i])
            .collect()
    }

    /// Clients with a kept session that ever subscribed.
    fn kept_subscribers(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.subs.keys().copied().filter(|c| self.kept.contains(c))
    }

    fn violation(
        &self,
        check: Check,
        message: Option<&MsgId>,
        subscriber: Option<&str>,
        at: Ms,
        what: String,
    ) -> Violation {
        Violation {
            check: check.name(),
            message: message.cloned(),
            publisher: message.map(|m| m.publisher.clone()),
            subscriber: subscriber.map(str::to_owned),
            at,
            what,
            faults: self.h.faults_near(at, FAULT_WINDOW),
        }
    }
}

fn secs(t: Ms) -> String {
    format!("{:.3}s", t as f64 / 1000.0)
}

/// "1.000s", "1.000s and 2.000s", "1.000s, 2.000s and 3.000s".
fn times(ts: &[Ms]) -> String {
    let s: Vec<String> = ts.iter().map(|&t| secs(t)).collect();
    match s.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

// ---------------------------------------------------------------------------
// Duplicates.

/// How the copies of one message to one subscriber count.
struct Copies {
    /// Every copy's arrival.
    all: Vec<Ms>,
    /// The copy that went over what is allowed, if one did.
    excess_at: Option<Ms>,
    /// Copies sent for a new subscription (RETAIN set): one per SUBACK.
    retained_excused: usize,
}

/// Counts the copies of `id` that `client` received against what MQTT
/// allows: one per matching filter (overlapping subscriptions may each get
/// a copy, MQTT-3.3.5-1 / MQTT-3.3.4-2), plus one retained copy (RETAIN
/// set) per matching SUBACK, since a new subscription is sent the retained
/// message. Every other copy counts, DUP or not: the workload client
/// records a QoS 2 PUBLISH once per Packet Identifier until PUBREL, across
/// reconnections, so a broker's legitimate resend is not in the history.
fn count_copies(ix: &Index<'_>, client: &str, id: &MsgId, msg: &Msg<'_>) -> Copies {
    let ds = ix.deliveries_of(client, id);
    let subs = ix.subs_of(client);
    let matching = |s: &Sub<'_>| protocol::topic::matches(s.filter, msg.topic);
    let filters: BTreeSet<&str> = subs
        .iter()
        .filter(|s| matching(s) && (s.live(msg.at) || ds.iter().any(|d| s.live(d.at))))
        .map(|s| s.filter)
        .collect();
    let allowed = filters.len().max(1);
    let mut copies = Copies {
        all: ds.iter().map(|d| d.at).collect(),
        excess_at: None,
        retained_excused: 0,
    };
    let mut used_subacks = BTreeSet::new();
    let mut counted = 0;
    for d in &ds {
        if d.retain {
            // The latest matching SUBACK before it, if its retained copy
            // is not taken yet.
            let suback = subs
                .iter()
                .enumerate()
                .filter(|(_, s)| matching(s) && s.at <= d.at)
                .max_by_key(|(i, s)| (s.at, *i))
                .map(|(i, _)| i);
            if suback.is_some_and(|i| used_subacks.insert(i)) {
                copies.retained_excused += 1;
                continue;
            }
        }
        counted += 1;
        if counted > allowed && copies.excess_at.is_none() {
            copies.excess_at = Some(d.at);
        }
    }
    copies
}

fn duplicate_text(id: &MsgId, client: &str, c: &Copies) -> String {
    let mut s = format!(
        "{id} delivered {} times to {client} (at {})",
        c.all.len(),
        times(&c.all)
    );
    if c.retained_excused > 0 {
        s.push_str(&format!(
            " ({} retained on subscribing, allowed)",
            c.retained_excused
        ));
    }
    s
}

fn at_most_once(ix: &Index<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    for (&client, id) in ix
        .received
        .iter()
        .flat_map(|(c, m)| m.keys().map(move |id| (c, *id)))
    {
        let Some(msg) = ix.message(id) else { continue };
        if msg.qos != 0 {
            continue;
        }
        let c = count_copies(ix, client, id, &msg);
        if let Some(at) = c.excess_at {
            let what = format!(
                "{} — QoS 0 is at most once (§4.3.1)",
                duplicate_text(id, client, &c)
            );
            out.push(ix.violation(Check::AtMostOnce, Some(id), Some(client), at, what));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Losses.

fn at_least_once(ix: &Index<'_>) -> Vec<Violation> {
    losses(ix, Check::AtLeastOnce, 1)
}

/// Acknowledged messages of effective QoS `eff` that a kept-session
/// subscriber, subscribed when the message was published, never received.
fn losses(ix: &Index<'_>, check: Check, eff: u8) -> Vec<Violation> {
    let mut out = Vec::new();
    for (&id, msg) in &ix.msgs {
        let Some(acked) = msg.acked else { continue };
        if msg.qos == 0 {
            continue;
        }
        for client in ix.kept_subscribers() {
            let Some(sub) = ix.best_sub(client, msg.topic, msg.at) else {
                continue;
            };
            if msg.qos.min(sub.granted) != eff || !ix.copies(client, id).is_empty() {
                continue;
            }
            let what = format!(
                "{id} (QoS {}, on {}, published at {}, acked at {}) never delivered to {client}, \
                 subscribed to {} at QoS {} since {} — a message the broker took on is \
                 delivered to every matching session (MQTT-4.5.0-1, §4.3.{})",
                msg.qos,
                msg.topic,
                secs(msg.at),
                secs(acked),
                sub.filter,
                sub.granted,
                secs(sub.at),
                eff + 1,
            );
            out.push(ix.violation(check, Some(id), Some(client), msg.at, what));
        }
    }
    out
}

fn exactly_once(ix: &Index<'_>) -> Vec<Violation> {
    let mut out = losses(ix, Check::ExactlyOnce, 2);
    for (&client, id) in ix
        .received
        .iter()
        .flat_map(|(c, m)| m.keys().map(move |id| (c, *id)))
    {
        let Some(msg) = ix.message(id) else { continue };
        if msg.qos != 2 {
            continue;
        }
        let first = ix.deliveries[ix.copies(client, id)[0]].at;
        let granted = [msg.at, first]
            .iter()
            .filter_map(|&t| ix.best_sub(client, msg.topic, t))
            .map(|s| s.granted)
            .max();
        if granted != Some(2) {
            continue;
        }
        let c = count_copies(ix, client, id, &msg);
        if let Some(at) = c.excess_at {
            let what = format!(
                "{} — QoS 2 is exactly once (§4.3.3)",
                duplicate_text(id, client, &c)
            );
            out.push(ix.violation(Check::ExactlyOnce, Some(id), Some(client), at, what));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Order.

fn ordered_per_publisher(ix: &Index<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut seen: BTreeSet<(&str, &MsgId)> = BTreeSet::new();
    // (subscriber, publisher, topic, QoS) → highest seq first-delivered so
    // far, and when.
    let mut highest: BTreeMap<(&str, &str, &str, u8), (&MsgId, Ms)> = BTreeMap::new();
    for d in &ix.deliveries {
        // Wills are not part of a publisher's sequence; a retained copy is
        // sent for a new subscription, not in publish order.
        if d.id.will || d.retain {
            continue;
        }
        let Some(msg) = ix.msgs.get(d.id) else {
            continue;
        };
        if !seen.insert((d.client, d.id)) {
            continue;
        }
        let key = (d.client, d.id.publisher.as_str(), msg.topic, msg.qos);
        match highest.get(&key) {
            Some(&(top, top_at)) if top.seq > d.id.seq => {
                let what = format!(
                    "{} first delivered to {} at {}, after {top} (at {}) — one publisher's \
                     QoS {} messages on {} arrive in the order published (§4.6)",
                    d.id,
                    d.client,
                    secs(d.at),
                    secs(top_at),
                    msg.qos,
                    msg.topic,
                );
                out.push(ix.violation(
                    Check::OrderedPerPublisher,
                    Some(d.id),
                    Some(d.client),
                    d.at,
                    what,
                ));
            }
            _ => {
                highest.insert(key, (d.id, d.at));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Routing.

/// Deliveries that should not have happened: on a topic none of the
/// subscriber's live filters match (MQTT-3.3.2-3), on another topic than
/// the one published, or of a message nobody published. One violation per
/// (subscriber, message): its first wrong copy. Missing deliveries are
/// `at_least_once` / `exactly_once`'s to report; wills of connections that
/// carried none are `will_on_abnormal_disconnect`'s.
fn routes_match_filters(ix: &Index<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut reported: BTreeSet<(&str, &MsgId)> = BTreeSet::new();
    for d in &ix.deliveries {
        if reported.contains(&(d.client, d.id)) {
            continue;
        }
        let Some(msg) = ix.message(d.id) else {
            if !d.id.will {
                reported.insert((d.client, d.id));
                let what = format!(
                    "{} delivered to {} at {} on {}, but it was never published",
                    d.id,
                    d.client,
                    secs(d.at),
                    d.topic
                );
                out.push(ix.violation(
                    Check::RoutesMatchFilters,
                    Some(d.id),
                    Some(d.client),
                    d.at,
                    what,
                ));
            }
            continue;
        };
        let live: Vec<&str> = ix
            .subs_of(d.client)
            .iter()
            .filter(|s| s.live(d.at))
            .map(|s| s.filter)
            .collect();
        let matched = live.iter().any(|f| protocol::topic::matches(f, d.topic));
        let filters = if live.is_empty() {
            format!("{} had no subscription then", d.client)
        } else {
            format!("{}'s subscriptions then: {}", d.client, live.join(", "))
        };
        let what = if d.topic != msg.topic {
            let also = if matched {
                String::new()
            } else {
                format!(", which matches none of its filters ({filters})")
            };
            format!(
                "{} delivered to {} at {} on {}{also}, but published on {} — the Topic Name \
                 is forwarded as published (§3.3.2)",
                d.id,
                d.client,
                secs(d.at),
                d.topic,
                msg.topic,
            )
        } else if !matched {
            format!(
                "{} delivered to {} at {} on {}, which matches none of its filters ({filters}) \
                 — the Topic Name must match the subscription's filter (MQTT-3.3.2-3)",
                d.id,
                d.client,
                secs(d.at),
                d.topic,
            )
        } else {
            continue;
        };
        reported.insert((d.client, d.id));
        out.push(ix.violation(
            Check::RoutesMatchFilters,
            Some(d.id),
            Some(d.client),
            d.at,
            what,
        ));
    }
    out
}

// ---------------------------------------------------------------------------
// Retained messages.

/// Every topic the end-of-run reading lists, and every topic a retained
/// message was published on (absent from the reading = nothing retained):
/// the retained message is the last acknowledged retained publish or a
/// later one (the broker may have taken an unacknowledged one on).
fn retained_latest(ix: &Index<'_>) -> Vec<Violation> {
    let Some(end) = &ix.h.retained_at_end else {
        return Vec::new();
    };
    let topics: BTreeSet<&str> = end
        .keys()
        .map(String::as_str)
        .chain(ix.retained_pubs.keys().copied())
        .collect();
    let mut out = Vec::new();
    for topic in topics {
        let actual = end.get(topic).and_then(Option::as_ref);
        let pubs = ix.retained_pubs.get(topic).map_or(&[][..], Vec::as_slice);
        let last_acked = pubs
            .iter()
            .rev()
            .find_map(|id| ix.msgs[*id].acked.map(|t| (*id, t)));
        match actual {
            None => {
                if let Some((id, acked)) = last_acked {
                    let what = format!(
                        "nothing retained on {topic} at the end, but {id} was published there \
                         with RETAIN at {} and acked at {} — the broker keeps the last retained \
                         message (MQTT-3.3.1-5)",
                        secs(ix.msgs[id].at),
                        secs(acked),
                    );
                    out.push(ix.violation(Check::RetainedLatest, Some(id), None, acked, what));
                }
            }
            Some(id) => match pubs.iter().position(|p| *p == id) {
                None => {
                    let how = match ix.msgs.get(id) {
                        Some(m) if m.topic != topic => format!("published on {}", m.topic),
                        Some(_) => "published there without RETAIN".to_owned(),
                        None => "never published".to_owned(),
                    };
                    let what = format!(
                        "{topic} retains {id} at the end, which was {how} — only a RETAIN \
                         publish on a topic is retained there (§3.3.1.3)"
                    );
                    out.push(ix.violation(Check::RetainedLatest, Some(id), None, ix.end, what));
                }
                Some(_) => {
                    if let Some((newer, why, at, acked)) = replaced_by(ix, id, pubs) {
                        let what = format!(
                            "{topic} retains {id} at the end, but {newer} (published there with \
                             RETAIN at {}, acked at {}) reached the broker after it, {why} — a \
                             retained message replaces the one before (MQTT-3.3.1-5)",
                            secs(at),
                            secs(acked),
                        );
                        out.push(ix.violation(Check::RetainedLatest, Some(id), None, acked, what));
                    }
                }
            },
        }
    }
    out
}

/// The latest acknowledged retained publish on the topic that surely
/// reached the broker after `kept`, with why that is sure and when it was
/// published and acked. The broker's order of arrival is only known in
/// part: one publisher's messages arrive in the order it sent them (it
/// resends in order, MQTT-4.6.0-1); another's arrived after `kept` if it
/// was first sent after `kept` was acknowledged.
fn replaced_by<'a>(
    ix: &Index<'a>,
    kept: &'a MsgId,
    pubs: &[&'a MsgId],
) -> Option<(&'a MsgId, String, Ms, Ms)> {
    let k = ix.msgs[kept];
    pubs.iter()
        .filter_map(|y| {
            let m = ix.msgs[*y];
            let acked = m.acked?;
            let why = if y.publisher == kept.publisher {
                (y.seq > kept.seq).then(|| format!("as {} sent it later", y.publisher))?
            } else {
                let kept_acked = k.acked.filter(|a| m.at > *a)?;
                format!(
                    "as it was sent after {kept} was acked at {}",
                    secs(kept_acked)
                )
            };
            Some((*y, why, m.at, acked))
        })
        .max_by_key(|(_, _, at, _)| *at)
}

// ---------------------------------------------------------------------------
// Wills.

/// A connection with a will that ended without DISCONNECT: every will
/// watcher subscribed (at or before the loss) to a filter matching the
/// will topic, at an effective QoS of 1 or more, receives the will after
/// the connection began (MQTT-3.1.2-8). A will is never delivered for a
/// connection that ended with DISCONNECT (MQTT-3.1.2-10, MQTT-3.14.4-3),
/// nor for one that carried no will.
fn will_on_abnormal_disconnect(ix: &Index<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    let watchers: BTreeSet<&str> =
        ix.h.roles
            .will_watchers
            .iter()
            .map(String::as_str)
            .collect();
    for (&client, n, conn) in ix
        .conns
        .iter()
        .flat_map(|(c, cs)| cs.iter().map(move |(n, conn)| (c, *n, conn)))
    {
        let (Some(will), Some((lost_at, false))) = (conn.will, conn.end) else {
            continue;
        };
        let id = MsgId {
            publisher: client.to_owned(),
            seq: n,
            will: true,
        };
        for &w in &watchers {
            let Some(sub) = ix.best_sub(w, &will.topic, lost_at) else {
                continue;
            };
            if will.qos.min(sub.granted) == 0 {
                continue;
            }
            if ix.deliveries_of(w, &id).iter().any(|d| d.at >= conn.at) {
                continue;
            }
            let what = format!(
                "{id}, on {}, never delivered to {w}, subscribed to {} since {}, though the \
                 connection was lost at {} without DISCONNECT — the will is published when \
                 the connection closes abnormally (MQTT-3.1.2-8)",
                will.topic,
                sub.filter,
                secs(sub.at),
                secs(lost_at),
            );
            out.push(ix.violation(
                Check::WillOnAbnormalDisconnect,
                Some(&id),
                Some(w),
                lost_at,
                what,
            ));
        }
    }
    let mut reported: BTreeSet<(&str, &MsgId)> = BTreeSet::new();
    for d in &ix.deliveries {
        if !d.id.will || !reported.insert((d.client, d.id)) {
            continue;
        }
        let why = match ix.conn(&d.id.publisher, d.id.seq) {
            // Connections are numbered by attempt: one below a later
            // accepted connection sent its CONNECT (with the will every
            // connection of this client carries) and lost the CONNACK, so
            // the broker may have accepted it and owe its will.
            None if ix.conns.get(d.id.publisher.as_str()).is_some_and(|cs| {
                cs.keys().next_back().is_some_and(|&last| last > d.id.seq)
                    && cs.values().any(|c| c.will.is_some())
            }) =>
            {
                continue
            }
            None => "a connection that never was".to_owned(),
            Some(c) if c.will.is_none() => "a connection that carried no will".to_owned(),
            Some(Conn {
                end: Some((t, true)),
                ..
            }) => format!(
                "a connection that ended with DISCONNECT at {} — a normal disconnect deletes \
                 the will (MQTT-3.1.2-10, MQTT-3.14.4-3)",
                secs(*t)
            ),
            Some(_) => continue,
        };
        let what = format!(
            "{} delivered to {} at {}, for {why}",
            d.id,
            d.client,
            secs(d.at)
        );
        out.push(ix.violation(
            Check::WillOnAbnormalDisconnect,
            Some(d.id),
            Some(d.client),
            d.at,
            what,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(p: &str, seq: u32) -> MsgId {
        MsgId {
            publisher: p.into(),
            seq,
            will: false,
        }
    }

    fn will_id(p: &str, connection: u32) -> MsgId {
        MsgId {
            publisher: p.into(),
            seq: connection,
            will: true,
        }
    }

    /// Builds a history by hand, one event per call.
    #[derive(Default)]
    struct B(History);

    impl B {
        fn kept(mut self, clients: &[&str]) -> B {
            self.0.roles.kept_sessions = clients.iter().map(|c| c.to_string()).collect();
            self
        }
        fn watchers(mut self, clients: &[&str]) -> B {
            self.0.roles.will_watchers = clients.iter().map(|c| c.to_string()).collect();
            self
        }
        fn push(mut self, e: Event) -> B {
            self.0.push(e);
            self
        }
        fn connect(self, at: Ms, client: &str, connection: u32, clean: bool) -> B {
            self.push(Event::Connected {
                at,
                client: client.into(),
                connection,
                clean_start: clean,
                session_present: !clean && connection > 1,
                will: None,
            })
        }
        fn connect_will(self, at: Ms, client: &str, connection: u32, topic: &str) -> B {
            self.push(Event::Connected {
                at,
                client: client.into(),
                connection,
                clean_start: true,
                session_present: false,
                will: Some(WillInfo {
                    topic: topic.into(),
                    qos: 1,
                }),
            })
        }
        fn lost(self, at: Ms, client: &str, connection: u32) -> B {
            self.push(Event::ConnectionLost {
                at,
                client: client.into(),
                connection,
                why: "reset".into(),
            })
        }
        fn disconnect(self, at: Ms, client: &str, connection: u32) -> B {
            self.push(Event::Disconnected {
                at,
                client: client.into(),
                connection,
            })
        }
        fn sub(self, at: Ms, client: &str, filter: &str, granted: u8) -> B {
            self.push(Event::Subscribed {
                at,
                client: client.into(),
                filter: filter.into(),
                granted_qos: Some(granted),
            })
        }
        fn publish(self, at: Ms, p: &str, seq: u32, topic: &str, qos: u8) -> B {
            self.publish_r(at, p, seq, topic, qos, false)
        }
        fn publish_r(self, at: Ms, p: &str, seq: u32, topic: &str, qos: u8, retain: bool) -> B {
            self.push(Event::Published {
                at,
                id: id(p, seq),
                topic: topic.into(),
                qos,
                retain,
            })
        }
        fn ack(self, at: Ms, p: &str, seq: u32) -> B {
            self.push(Event::Acked { at, id: id(p, seq) })
        }
        fn deliver(self, at: Ms, client: &str, p: &str, seq: u32, topic: &str, qos: u8) -> B {
            self.deliver_x(at, client, id(p, seq), topic, qos, false, false)
        }
        #[allow(clippy::too_many_arguments)]
        fn deliver_x(
            self,
            at: Ms,
            client: &str,
            id: MsgId,
            topic: &str,
            qos: u8,
            dup: bool,
            retain: bool,
        ) -> B {
            self.push(Event::Delivered {
                at,
                client: client.into(),
                id,
                topic: topic.into(),
                qos,
                dup,
                retain,
            })
        }
        fn fault(self, at: Ms, what: &str) -> B {
            self.push(Event::Fault {
                at,
                what: what.into(),
            })
        }
        fn retained_at_end(mut self, entries: &[(&str, Option<MsgId>)]) -> B {
            self.0.retained_at_end = Some(
                entries
                    .iter()
                    .map(|(t, id)| (t.to_string(), id.clone()))
                    .collect(),
            );
            self
        }
    }

    const T1: &str = "maison/salon/temperature";
    const T2: &str = "maison/cuisine/temperature";
    const F: &str = "maison/+/temperature";

    fn texts(v: &[Violation]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }

    fn one(check: Check, h: &History) -> String {
        let v = run(check, h);
        assert_eq!(v.len(), 1, "{:#?}", texts(&v));
        v[0].to_string()
    }

    /// Everything promised, kept: QoS 0, 1 and 2, a kept and a clean
    /// subscriber, a QoS 1 redelivery, a resumed session, retained
    /// messages, a will after a lost connection, none after DISCONNECT.
    fn clean() -> B {
        B::default()
            .kept(&["s1", "w"])
            .watchers(&["w"])
            .connect(0, "s1", 1, false)
            .sub(5, "s1", F, 2)
            .connect(0, "s2", 1, true)
            .sub(6, "s2", "maison/#", 1)
            .connect(0, "w", 1, false)
            .sub(7, "w", "wills/+", 1)
            .connect_will(1, "p1", 1, "wills/p1")
            .publish(100, "p1", 1, T1, 0)
            .deliver(120, "s1", "p1", 1, T1, 0)
            .deliver(121, "s2", "p1", 1, T1, 0)
            .publish(200, "p1", 2, T1, 1)
            .ack(230, "p1", 2)
            .deliver(220, "s1", "p1", 2, T1, 1)
            .deliver(222, "s2", "p1", 2, T1, 1)
            // QoS 1 may come twice.
            .deliver_x(900, "s1", id("p1", 2), T1, 1, true, false)
            .publish(300, "p1", 3, T1, 2)
            .ack(330, "p1", 3)
            .deliver(320, "s1", "p1", 3, T1, 2)
            .deliver(321, "s2", "p1", 3, T1, 1)
            .publish_r(400, "p1", 4, T2, 1, true)
            .ack(430, "p1", 4)
            .deliver(420, "s1", "p1", 4, T2, 1)
            .deliver(421, "s2", "p1", 4, T2, 1)
            // s1's connection is lost and its session resumed (any QoS 2
            // resend is absorbed by the client: one Delivered per message).
            .publish(500, "p1", 5, T1, 2)
            .ack(530, "p1", 5)
            .deliver(520, "s1", "p1", 5, T1, 2)
            .lost(800, "s1", 1)
            .connect(850, "s1", 2, false)
            // s2 reconnects clean, resubscribes, gets the retained message.
            .lost(600, "s2", 1)
            .connect(700, "s2", 2, true)
            .sub(705, "s2", "maison/#", 1)
            .deliver_x(705, "s2", id("p1", 4), T2, 1, false, true)
            .lost(1000, "p1", 1)
            .deliver_x(1010, "w", will_id("p1", 1), "wills/p1", 1, false, false)
            .connect_will(1100, "p1", 2, "wills/p1")
            .disconnect(2000, "p1", 2)
            .retained_at_end(&[(T2, Some(id("p1", 4)))])
    }

    #[test]
    fn a_clean_history_passes_every_check() {
        let h = clean().0;
        for c in Check::ALL {
            assert_eq!(texts(&run(c, &h)), Vec::<String>::new(), "{c}");
        }
        assert!(run_all(&Check::ALL, &h).is_empty());
    }

    #[test]
    fn checks_parse_from_their_names() {
        for c in Check::ALL {
            assert_eq!(c.name().parse::<Check>(), Ok(c));
            assert_eq!(c.to_string(), c.name());
        }
        let err = "exactly_twice".parse::<Check>().unwrap_err();
        assert!(
            err.contains("exactly_twice") && err.contains("at_least_once"),
            "{err}"
        );
    }

    #[test]
    fn qos0_duplicate() {
        let h = clean()
            .deliver(150, "s2", "p1", 1, T1, 0)
            .fault(140, "stall s2")
            .0;
        let v = run(Check::AtMostOnce, &h);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].message, Some(id("p1", 1)));
        assert_eq!(v[0].publisher.as_deref(), Some("p1"));
        assert_eq!(v[0].subscriber.as_deref(), Some("s2"));
        assert_eq!(v[0].at, 150);
        assert_eq!(
            v[0].to_string(),
            "at_most_once: p1#1 delivered 2 times to s2 (at 0.121s and 0.150s) — QoS 0 is at \
             most once (§4.3.1)\n  faults around: 0.140s stall s2"
        );
    }

    #[test]
    fn retained_copies_on_new_subscriptions_are_not_duplicates() {
        // s2 gets p1#9 live, then once more retained when it subscribes
        // again in a new session: fine. Twice for one subscription is not.
        let b = clean()
            .publish_r(3000, "p1", 9, T2, 0, true)
            .deliver(3010, "s2", "p1", 9, T2, 0)
            .lost(3100, "s2", 2)
            .connect(3200, "s2", 3, true)
            .sub(3205, "s2", "maison/#", 1)
            .deliver_x(3206, "s2", id("p1", 9), T2, 0, false, true);
        assert!(run(Check::AtMostOnce, &b.0).is_empty());
        let h = b.deliver_x(3207, "s2", id("p1", 9), T2, 0, false, true).0;
        let t = one(Check::AtMostOnce, &h);
        assert_eq!(
            t,
            "at_most_once: p1#9 delivered 3 times to s2 (at 3.010s, 3.206s and 3.207s) (1 \
             retained on subscribing, allowed) — QoS 0 is at most once (§4.3.1)"
        );
    }

    #[test]
    fn acked_qos1_loss_for_a_kept_session() {
        let h = clean()
            .publish(1200, "p1", 6, T1, 1)
            .ack(1230, "p1", 6)
            .deliver(1220, "s2", "p1", 6, T1, 1)
            .0;
        let t = one(Check::AtLeastOnce, &h);
        assert!(t.starts_with("at_least_once: p1#6 (QoS 1"), "{t}");
        assert!(
            t.contains("never delivered to s1, subscribed to maison/+/temperature at QoS 2"),
            "{t}"
        );
        // QoS 1 published, granted 2: effective QoS 1 is not exactly_once's.
        assert!(run(Check::ExactlyOnce, &h).is_empty());
        // The checker judges messages, not the route: routes stays quiet.
        assert!(run(Check::RoutesMatchFilters, &h).is_empty());
    }

    #[test]
    fn no_loss_for_a_clean_session_a_late_subscription_or_an_unacked_message() {
        // s2 (clean session) misses an acked message: allowed.
        let h = clean()
            .publish(1200, "p1", 6, T1, 1)
            .ack(1230, "p1", 6)
            .deliver(1220, "s1", "p1", 6, T1, 1)
            .0;
        assert!(run(Check::AtLeastOnce, &h).is_empty());
        // s3 (kept) subscribes after the publish: nothing was promised.
        let h = clean()
            .kept(&["s1", "w", "s3"])
            .connect(1000, "s3", 1, false)
            .publish(1200, "p1", 6, T1, 1)
            .ack(1230, "p1", 6)
            .deliver(1220, "s1", "p1", 6, T1, 1)
            .sub(1201, "s3", F, 1)
            .0;
        assert!(run(Check::AtLeastOnce, &h).is_empty());
        // Never acked: the broker may never have had it.
        let h = clean().publish(1200, "p1", 6, T1, 1).0;
        assert!(run(Check::AtLeastOnce, &h).is_empty());
        // Subscribed at QoS 0: at most once.
        let h = clean()
            .kept(&["s1", "w", "s3"])
            .connect(1000, "s3", 1, false)
            .sub(1001, "s3", F, 0)
            .publish(1200, "p1", 6, T1, 1)
            .ack(1230, "p1", 6)
            .deliver(1220, "s1", "p1", 6, T1, 1)
            .0;
        assert!(run(Check::AtLeastOnce, &h).is_empty());
    }

    #[test]
    fn qos2_duplicate() {
        // A second copy on the same connection, DUP or not.
        let h = clean()
            .deliver_x(400, "s1", id("p1", 3), T1, 2, true, false)
            .0;
        let v = run(Check::ExactlyOnce, &h);
        assert_eq!(v.len(), 1);
        assert_eq!(
            (
                v[0].publisher.as_deref(),
                v[0].subscriber.as_deref(),
                v[0].at
            ),
            (Some("p1"), Some("s1"), 400)
        );
        assert_eq!(
            v[0].to_string(),
            "exactly_once: p1#3 delivered 2 times to s1 (at 0.320s and 0.400s) — QoS 2 is \
             exactly once (§4.3.3)"
        );
        // A DUP copy on s1's next connection (its PUBREC lost with the
        // connection) counts too: the client absorbs a resend of the same
        // Packet Identifier, so this is a second message.
        let h = clean()
            .deliver_x(900, "s1", id("p1", 5), T1, 2, true, false)
            .0;
        let t = one(Check::ExactlyOnce, &h);
        assert_eq!(
            t,
            "exactly_once: p1#5 delivered 2 times to s1 (at 0.520s and 0.900s) — QoS 2 is \
             exactly once (§4.3.3)"
        );
        // s2 was granted QoS 1: its copies are at least once only.
        let h = clean()
            .deliver_x(400, "s2", id("p1", 3), T1, 1, true, false)
            .0;
        assert!(run(Check::ExactlyOnce, &h).is_empty());
    }

    #[test]
    fn qos2_loss() {
        let h = clean()
            .publish(1200, "p1", 6, T1, 2)
            .ack(1230, "p1", 6)
            .deliver(1220, "s2", "p1", 6, T1, 1)
            .fault(1210, "broker restart")
            .0;
        let t = one(Check::ExactlyOnce, &h);
        assert!(
            t.starts_with("exactly_once: p1#6 (QoS 2, on maison/salon/temperature"),
            "{t}"
        );
        assert!(t.contains("never delivered to s1"), "{t}");
        assert!(
            t.ends_with("\n  faults around: 1.210s broker restart"),
            "{t}"
        );
        // Not at_least_once's to report.
        assert!(run(Check::AtLeastOnce, &h).is_empty());
    }

    #[test]
    fn out_of_order_first_deliveries() {
        let h = clean()
            .publish(1200, "p1", 6, T1, 1)
            .ack(1230, "p1", 6)
            .publish(1300, "p1", 7, T1, 1)
            .ack(1330, "p1", 7)
            .deliver(1320, "s1", "p1", 7, T1, 1)
            .deliver(1340, "s1", "p1", 6, T1, 1)
            .deliver(1350, "s2", "p1", 6, T1, 1)
            .deliver(1351, "s2", "p1", 7, T1, 1)
            .0;
        let t = one(Check::OrderedPerPublisher, &h);
        assert_eq!(
            t,
            "ordered_per_publisher: p1#6 first delivered to s1 at 1.340s, after p1#7 (at \
             1.320s) — one publisher's QoS 1 messages on maison/salon/temperature arrive in \
             the order published (§4.6)"
        );
    }

    #[test]
    fn redeliveries_are_not_disorder() {
        // p1#2 comes again after p1#4 (a QoS 1 redelivery, in clean()), and
        // p1#5 again on s1's next connection: neither is out of order.
        let h = clean()
            .publish(1200, "p1", 6, T1, 1)
            .ack(1230, "p1", 6)
            .deliver(1220, "s1", "p1", 6, T1, 1)
            .deliver_x(1240, "s1", id("p1", 2), T1, 1, true, false)
            .0;
        assert!(run(Check::OrderedPerPublisher, &h).is_empty());
        // Messages at different QoS are ordered separately.
        let h = clean()
            .publish(1200, "p1", 6, T1, 0)
            .publish(1300, "p1", 7, T1, 1)
            .ack(1330, "p1", 7)
            .deliver(1320, "s1", "p1", 7, T1, 1)
            .deliver(1340, "s1", "p1", 6, T1, 0)
            .0;
        assert!(run(Check::OrderedPerPublisher, &h).is_empty());
    }

    #[test]
    fn delivery_matching_no_filter() {
        // `+` is one level: maison/+/temperature does not match a/b/c/d.
        let t3 = "maison/salon/nord/temperature";
        let h = clean()
            .publish(1200, "p2", 1, t3, 0)
            .deliver(1220, "s2", "p2", 1, t3, 0)
            .deliver(1221, "s1", "p2", 1, t3, 0)
            .0;
        let t = one(Check::RoutesMatchFilters, &h);
        assert_eq!(
            t,
            "routes_match_filters: p2#1 delivered to s1 at 1.221s on \
             maison/salon/nord/temperature, which matches none of its filters (s1's \
             subscriptions then: maison/+/temperature) — the Topic Name must match the \
             subscription's filter (MQTT-3.3.2-3)"
        );
    }

    #[test]
    fn clean_sessions_lose_their_subscriptions() {
        // s2 reconnects clean and is sent p1#6 before subscribing again.
        let h = clean()
            .lost(1100, "s2", 2)
            .connect(1150, "s2", 3, true)
            .publish(1200, "p1", 6, T1, 0)
            .deliver(1210, "s2", "p1", 6, T1, 0)
            .deliver(1210, "s1", "p1", 6, T1, 0)
            .sub(1300, "s2", "maison/#", 1)
            .0;
        let t = one(Check::RoutesMatchFilters, &h);
        assert!(
            t.contains(
                "p1#6 delivered to s2 at 1.210s on maison/salon/temperature, which \
                 matches none of its filters (s2 had no subscription then)"
            ),
            "{t}"
        );
        // A delivery in the same millisecond as the SUBACK is fine.
        let h = clean()
            .lost(1100, "s2", 2)
            .connect(1150, "s2", 3, true)
            .publish(1200, "p1", 6, T1, 0)
            .deliver(1210, "s2", "p1", 6, T1, 0)
            .sub(1210, "s2", "maison/#", 1)
            .0;
        assert!(run(Check::RoutesMatchFilters, &h).is_empty());
        // A kept session keeps its subscription across connections.
        let h = clean()
            .lost(1100, "s1", 2)
            .connect(1150, "s1", 3, false)
            .publish(1200, "p1", 6, T1, 0)
            .deliver(1210, "s1", "p1", 6, T1, 0)
            .0;
        assert!(run(Check::RoutesMatchFilters, &h).is_empty());
    }

    #[test]
    fn delivery_on_another_topic() {
        let h = clean()
            .publish(1200, "p1", 6, T1, 1)
            .ack(1230, "p1", 6)
            .deliver(1220, "s1", "p1", 6, T2, 1)
            .deliver(1221, "s2", "p1", 6, T1, 1)
            .0;
        let t = one(Check::RoutesMatchFilters, &h);
        assert_eq!(
            t,
            "routes_match_filters: p1#6 delivered to s1 at 1.220s on \
             maison/cuisine/temperature, but published on maison/salon/temperature — the \
             Topic Name is forwarded as published (§3.3.2)"
        );
        let h = clean().deliver(1220, "s1", "p7", 1, T1, 0).0;
        let t = one(Check::RoutesMatchFilters, &h);
        assert!(t.contains("p7#1 delivered to s1 at 1.220s"), "{t}");
        assert!(t.contains("never published"), "{t}");
    }

    #[test]
    fn stale_retained_message() {
        let b = clean()
            .publish_r(1200, "p2", 1, T2, 1, true)
            .ack(1230, "p2", 1)
            .deliver(1220, "s1", "p2", 1, T2, 1)
            .deliver(1221, "s2", "p2", 1, T2, 1);
        // Still p1#4, though p2#1 was sent after p1#4's PUBACK: stale.
        let t = one(Check::RetainedLatest, &b.0);
        assert_eq!(
            t,
            "retained_latest: maison/cuisine/temperature retains p1#4 at the end, but p2#1 \
             (published there with RETAIN at 1.200s, acked at 1.230s) reached the broker after \
             it, as it was sent after p1#4 was acked at 0.430s — a retained message replaces \
             the one before (MQTT-3.3.1-5)"
        );
        let h = b.retained_at_end(&[(T2, Some(id("p2", 1)))]).0;
        assert!(run(Check::RetainedLatest, &h).is_empty());
        // The same publisher's later message replaces its earlier one.
        let b = clean()
            .publish_r(1200, "p1", 6, T2, 1, true)
            .ack(1230, "p1", 6)
            .deliver(1220, "s1", "p1", 6, T2, 1)
            .deliver(1221, "s2", "p1", 6, T2, 1);
        let t = one(Check::RetainedLatest, &b.0);
        assert!(t.contains("p1#6 (published there with RETAIN at 1.200s, acked at 1.230s) reached the broker after it, as p1 sent it later"), "{t}");
    }

    #[test]
    fn retained_from_publishers_racing_on_a_topic_may_be_either() {
        // p2#1 was sent before p1#4's PUBACK came back: the broker may
        // have had either one last.
        let b = clean()
            .publish_r(410, "p2", 1, T2, 1, true)
            .ack(440, "p2", 1)
            .deliver(422, "s1", "p2", 1, T2, 1)
            .deliver(423, "s2", "p2", 1, T2, 1);
        assert!(run(Check::RetainedLatest, &b.0).is_empty());
        let h = b.retained_at_end(&[(T2, Some(id("p2", 1)))]).0;
        assert!(run(Check::RetainedLatest, &h).is_empty());
    }

    #[test]
    fn retained_later_unacked_allowed_but_none_or_unknown_is_not() {
        // A later retained publish never acked may or may not be there.
        let b = clean().publish_r(1200, "p2", 1, T2, 1, true);
        assert!(run(Check::RetainedLatest, &b.0).is_empty());
        let h = b.retained_at_end(&[(T2, Some(id("p2", 1)))]).0;
        assert!(run(Check::RetainedLatest, &h).is_empty());
        // Nothing retained (listed as None, or absent) though p1#4 was acked.
        for end in [vec![(T2, None)], vec![]] {
            let h = clean().retained_at_end(&end).0;
            let t = one(Check::RetainedLatest, &h);
            assert!(
                t.starts_with(
                    "retained_latest: nothing retained on maison/cuisine/temperature at the \
                     end, but p1#4 was published there"
                ),
                "{t}"
            );
        }
        // p1#3 was published without RETAIN.
        let h = clean().retained_at_end(&[(T2, Some(id("p1", 4))), (T1, Some(id("p1", 3)))]);
        let t = one(Check::RetainedLatest, &h.0);
        assert!(
            t.starts_with(
                "retained_latest: maison/salon/temperature retains p1#3 at the end, which was \
                 published there without RETAIN"
            ),
            "{t}"
        );
    }

    #[test]
    fn a_will_for_a_connection_whose_connack_was_lost_is_allowed() {
        // p1's connection 3 sent CONNECT, the CONNACK was cut off, and the
        // broker published its will when it died; connection 4 came after.
        let lost_connack = will_id("p1", 3);
        let b = clean().connect_will(2500, "p1", 4, "wills/p1").deliver_x(
            2400,
            "w",
            lost_connack,
            "wills/p1",
            1,
            false,
            false,
        );
        let v = run(Check::WillOnAbnormalDisconnect, &b.0);
        assert!(v.is_empty(), "{:#?}", texts(&v));
        // A will for a connection later than any the client tried is made up.
        let made_up = will_id("p1", 7);
        let h = b
            .deliver_x(2600, "w", made_up, "wills/p1", 1, false, false)
            .0;
        let t = one(Check::WillOnAbnormalDisconnect, &h);
        assert!(
            t.contains("p1's will (connection 7) delivered to w at 2.600s, for a connection that never was"),
            "{t}"
        );
    }

    #[test]
    fn missing_will_after_a_lost_connection() {
        let h = clean()
            .lost(3000, "p1", 2)
            .connect_will(3100, "p1", 3, "wills/p1")
            .lost(4000, "p1", 3)
            .0;
        // Connection 2 ended with DISCONNECT (the first end is what counts).
        let t = one(Check::WillOnAbnormalDisconnect, &h);
        assert!(
            t.starts_with(
                "will_on_abnormal_disconnect: p1's will (connection 3), on wills/p1, never \
                 delivered to w, subscribed to wills/+ since 0.007s"
            ),
            "{t}"
        );
        let v = run(Check::WillOnAbnormalDisconnect, &h);
        assert_eq!(v[0].message, Some(will_id("p1", 3)));
        assert_eq!(v[0].at, 4000);
        // A client that does not watch wills is owed nothing.
        let h = clean()
            .watchers(&[])
            .connect_will(3100, "p1", 3, "wills/p1")
            .lost(4000, "p1", 3)
            .0;
        assert!(run(Check::WillOnAbnormalDisconnect, &h).is_empty());
    }

    #[test]
    fn will_after_a_normal_disconnect() {
        let h = clean()
            .deliver_x(2050, "w", will_id("p1", 2), "wills/p1", 1, false, false)
            .0;
        let t = one(Check::WillOnAbnormalDisconnect, &h);
        assert_eq!(
            t,
            "will_on_abnormal_disconnect: p1's will (connection 2) delivered to w at 2.050s, \
             for a connection that ended with DISCONNECT at 2.000s — a normal disconnect \
             deletes the will (MQTT-3.1.2-10, MQTT-3.14.4-3)"
        );
        let h = clean()
            .connect(3000, "p2", 1, true)
            .deliver_x(3050, "w", will_id("p2", 1), "wills/p2", 1, false, false)
            .0;
        let t = one(Check::WillOnAbnormalDisconnect, &h);
        assert!(t.contains("for a connection that carried no will"), "{t}");
        // Not routes' to report.
        assert!(run(Check::RoutesMatchFilters, &h).is_empty());
    }

    #[test]
    fn run_all_runs_each_check_once_in_order() {
        let h = clean()
            .deliver(150, "s2", "p1", 1, T1, 0)
            .deliver_x(4000, "s1", id("p1", 3), T1, 2, false, false)
            .0;
        let v = run_all(
            &[Check::ExactlyOnce, Check::AtMostOnce, Check::ExactlyOnce],
            &h,
        );
        let checks: Vec<&str> = v.iter().map(|v| v.check).collect();
        assert_eq!(checks, ["exactly_once", "at_most_once"]);
    }
}
