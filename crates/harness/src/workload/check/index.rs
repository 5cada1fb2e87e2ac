//! What the history says, indexed for the checkers: subscriptions with the
//! time they are live, connections, messages and deliveries.

use super::*;

/// A granted subscription and when it was live: `at <= t < until`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sub<'a> {
    pub(super) filter: &'a str,
    pub(super) granted: u8,
    pub(super) at: Ms,
    pub(super) until: Option<Ms>,
    /// It ended with its session (Clean Start 1, or a session that may
    /// have expired), not replaced by a SUBACK for the same filter: what
    /// it had queued may be gone with the session.
    pub(super) session_ended: bool,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Conn<'a> {
    pub(super) at: Ms,
    pub(super) will: Option<&'a WillInfo>,
    /// Whether it asked to resume its session (Clean Start 0).
    pub(super) resumes: bool,
    pub(super) session_present: bool,
    /// When its CONNECT went out.
    pub(super) requested_at: Ms,
    pub(super) session_expiry: Option<u32>,
    /// When it ended, and whether normally (DISCONNECT).
    pub(super) end: Option<(Ms, bool)>,
}

/// A message as published (or, for a will, as its connection carried it).
#[derive(Clone, Copy, Debug)]
pub(super) struct Msg<'a> {
    pub(super) topic: &'a str,
    pub(super) qos: u8,
    /// Published (a will: when its connection ended, else when it began).
    pub(super) at: Ms,
    /// PUBACK / PUBREC / PUBCOMP, the first of them.
    pub(super) acked: Option<Ms>,
    /// 5.0: the Message Expiry Interval it carried (seconds).
    pub(super) expiry: Option<u32>,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Delivery<'a> {
    pub(super) at: Ms,
    pub(super) client: &'a str,
    pub(super) id: &'a MsgId,
    pub(super) topic: &'a str,
    pub(super) retain: bool,
    pub(super) qos: u8,
    pub(super) dup: bool,
    pub(super) connection: u32,
    pub(super) expiry: Option<u32>,
    /// When the broker sent it at the latest, as its subscriptions go: its
    /// arrival, or, on a connection a takeover replaced, the moment before
    /// the new one was accepted (what was on its way still arrives).
    pub(super) sent_by: Ms,
}

pub(super) struct Index<'a> {
    pub(super) h: &'a History,
    pub(super) kept: BTreeSet<&'a str>,
    pub(super) subs: BTreeMap<&'a str, Vec<Sub<'a>>>,
    /// client → connection number → connection.
    pub(super) conns: BTreeMap<&'a str, BTreeMap<u32, Conn<'a>>>,
    pub(super) msgs: BTreeMap<&'a MsgId, Msg<'a>>,
    /// Retained publishes per topic, in publish order.
    pub(super) retained_pubs: BTreeMap<&'a str, Vec<&'a MsgId>>,
    pub(super) deliveries: Vec<Delivery<'a>>,
    /// receiver → message → indices into `deliveries`, in order.
    pub(super) received: BTreeMap<&'a str, BTreeMap<&'a MsgId, Vec<usize>>>,
    pub(super) end: Ms,
    /// When the broker restarted keeping nothing (as promised).
    pub(super) forgotten: Vec<Ms>,
}

/// How far a broker's clock of an absence may be from the client's, for
/// a DISCONNECT: its trip, and brokers that count expiry in whole seconds.
pub(super) const AWAY_MARGIN_MS: Ms = 1_500;

/// A margin that makes an absence too uncertain to judge either way.
const UNKNOWN_MS: Ms = 1 << 40;

/// Keep Alive assumed where the history does not say (the workloads'
/// default is 2 s).
const DEFAULT_KEEP_ALIVE_MS: Ms = 2_000;

pub(super) fn secs(t: Ms) -> String {
    format!("{:.3}s", t as f64 / 1000.0)
}

/// "1.000s", "1.000s and 2.000s", "1.000s, 2.000s and 3.000s".
pub(super) fn times(ts: &[Ms]) -> String {
    let s: Vec<String> = ts.iter().map(|&t| secs(t)).collect();
    match s.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

impl Sub<'_> {
    pub(super) fn live(&self, t: Ms) -> bool {
        self.at <= t && self.until.is_none_or(|u| t < u)
    }
}

impl<'a> Index<'a> {
    pub(super) fn new(h: &'a History) -> Index<'a> {
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
            forgotten: Vec::new(),
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
                    requested_at,
                    session_expiry,
                    ..
                } => {
                    let kept = ix.kept.contains(client.as_str());
                    // A kept session may end on its own when it asked to
                    // expire and the client was away long enough.
                    let expired_at = match (kept, *clean_start, *session_present, session_expiry) {
                        (true, false, false, Some(e)) => ix
                            .away_since(client, *requested_at)
                            .filter(|(down, margin)| {
                                requested_at.saturating_sub(*down) + margin >= u64::from(*e) * 1000
                            }),
                        _ => None,
                    };
                    // A session present may not be the one it left: see
                    // `replaced_while_away`.
                    let replaced = match (kept, *clean_start, *session_present) {
                        (true, false, true) => {
                            ix.replaced_while_away(client, *requested_at, *at, *session_expiry)
                        }
                        _ => None,
                    };
                    let ends = match expired_at {
                        // What came as it left was still the session's.
                        Some((down, _)) => Some(down + 1),
                        None if *clean_start || (!*session_present && !kept) => Some(*at),
                        None => replaced,
                    };
                    if let Some(end) = ends {
                        for s in ix.subs.entry(client.as_str()).or_default() {
                            if s.until.is_none() {
                                s.until = Some(end.max(s.at));
                                s.session_ended = true;
                            }
                        }
                    }
                    ix.conns
                        .entry(client.as_str())
                        .or_default()
                        .entry(*connection)
                        .or_insert(Conn {
                            at: *at,
                            will: will.as_ref(),
                            resumes: !*clean_start,
                            session_present: *session_present,
                            requested_at: *requested_at,
                            session_expiry: *session_expiry,
                            end: None,
                        });
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
                }
                | Event::Superseded {
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
                        session_ended: false,
                    });
                }
                Event::Subscribed { .. } => {}
                Event::Subscribing {
                    at,
                    client,
                    filters,
                } => {
                    // Whether the broker took it is unknown until its
                    // SUBACK: what it may deliver meanwhile is allowed,
                    // nothing is owed (as for a session that ended). Even
                    // beside a subscription to the same filter that looks
                    // held: that one may end with its session later on
                    // (a 3.1.1 clean session ends with its connection,
                    // which `end_clean_sessions` applies afterwards).
                    let subs = ix.subs.entry(client.as_str()).or_default();
                    for (filter, qos) in filters {
                        let pending = subs
                            .iter()
                            .any(|s| s.filter == filter && s.until.is_none() && s.session_ended);
                        if !pending {
                            subs.push(Sub {
                                filter,
                                granted: *qos,
                                at: *at,
                                until: None,
                                session_ended: true,
                            });
                        }
                    }
                }
                Event::Published {
                    at,
                    id,
                    topic,
                    qos,
                    retain,
                    expiry,
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
                            expiry: *expiry,
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
                Event::Delivered { repeat: true, .. } => {}
                Event::Delivered {
                    at,
                    client,
                    id,
                    topic,
                    retain,
                    qos,
                    dup,
                    connection,
                    expiry,
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
                        qos: *qos,
                        dup: *dup,
                        connection: *connection,
                        expiry: *expiry,
                        sent_by: *at,
                    });
                }
                Event::BrokerRestarted { at, kept, .. } => {
                    if !*kept {
                        ix.forgotten.push(*at);
                        // Every session is gone with the broker's state:
                        // what it held is owed to no one.
                        for subs in ix.subs.values_mut() {
                            for s in subs.iter_mut().filter(|s| s.until.is_none_or(|u| u > *at)) {
                                s.until = Some(*at);
                                s.session_ended = true;
                            }
                        }
                    }
                }
                Event::Fault { .. }
                | Event::Freed { .. }
                | Event::Takeover { .. }
                | Event::Unanswered { .. } => {}
            }
        }
        if !h.roles.v5 {
            ix.end_clean_sessions();
        }
        for d in &mut ix.deliveries {
            let replaced = ix.conns.get(d.client).and_then(|cs| {
                cs.range(d.connection + 1..)
                    .map(|(_, c)| c.at)
                    .find(|&at| at <= d.at)
            });
            if let Some(at) = replaced {
                d.sent_by = at.saturating_sub(1);
            }
            // Sent before a restart that forgot everything, on a
            // connection opened before it: a network connection does not
            // outlive its broker, so all it carried came from the old one,
            // however late its CONNACK arrived (or in the restart's
            // millisecond, where the order is not known).
            let began = ix
                .conns
                .get(d.client)
                .and_then(|cs| cs.get(&d.connection))
                .map_or(0, |c| c.requested_at);
            let forgot = ix
                .forgotten
                .iter()
                .copied()
                .filter(|&at| began <= at && at <= d.sent_by)
                .min();
            if let Some(at) = forgot {
                d.sent_by = at.saturating_sub(1);
            }
        }
        ix
    }

    /// The message as published; a will as its connection carried it.
    pub(super) fn message(&self, id: &MsgId) -> Option<Msg<'a>> {
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
            expiry: None,
        })
    }

    /// 3.1.1: a session begun with CleanSession 1 lasts as long as its
    /// connection (§3.1.2.4), so what it subscribed ends with it.
    fn end_clean_sessions(&mut self) {
        for (client, conns) in &self.conns {
            for (n, c) in conns {
                // A reset host records no end: the next connection is one.
                let next = conns.range(n + 1..).next().map(|(_, c)| c.at);
                let end = c.end.map(|(t, _)| t).or(next);
                let (false, Some(end)) = (c.resumes, end) else {
                    continue;
                };
                // Its own subscriptions: made before the next connection.
                let own_until = next.unwrap_or(Ms::MAX).min(end + 1);
                for s in self.subs.get_mut(client).into_iter().flatten() {
                    if s.at >= c.at && s.at < own_until {
                        s.until = Some(s.until.map_or(end + 1, |u| u.min(end + 1)));
                        s.session_ended = true;
                    }
                }
            }
        }
    }

    /// When `client` went away before connecting again at `t` (the end of
    /// its last connection, every earlier one ended), with how far off the
    /// broker's view of that moment may be: a DISCONNECT reaches it at
    /// once, a lost connection is noticed within 1.5 x Keep Alive. None if
    /// a connection was still open, or a broker fault came in between (a
    /// restarted broker's session clocks are its own affair).
    pub(super) fn away_since(&self, client: &str, t: Ms) -> Option<(Ms, Ms)> {
        let conns = self.conns.get(client)?;
        let mut down: Option<(Ms, Ms)> = None;
        let before: Vec<&Conn<'a>> = conns.values().filter(|c| c.requested_at < t).collect();
        for (i, c) in before.iter().enumerate() {
            // A reset host records no end: it ended by the next CONNECT.
            let next = before.get(i + 1).map_or(t, |n| n.requested_at);
            let (end, mut normal) = c.end.unwrap_or((next, false));
            // A DISCONNECT sent after a cut or stall on the way may never
            // have arrived: the broker then noticed the loss on its own.
            if normal && self.link_fault(client, c.at, end) {
                normal = false;
            }
            let margin = if normal {
                AWAY_MARGIN_MS
            } else {
                // Through a cut or stall the broker hears nothing from the
                // moment it began and may close 1.5 x Keep Alive later,
                // long before the client sees its connection end: the
                // absence at the broker may be longer by that much.
                let unheard = self
                    .link_fault_since(client, c.at, end)
                    .map_or(0, |from| end.saturating_sub(from));
                self.keep_alive_ms() * 3 / 2 + AWAY_MARGIN_MS + unheard
            };
            if down.is_none_or(|(d, _)| end >= d) {
                down = Some((end, margin));
            }
        }
        let (d, _) = down?;
        // A CONNECT in between that got no answer may have begun or
        // resumed the session at the broker: how long it was away there is
        // anyone's guess.
        if self.unanswered(client, d, t).next().is_some() {
            return Some((d, UNKNOWN_MS));
        }
        let broker_fault = self.h.events.iter().any(|e| match e {
            Event::Fault { at, what } => (d..=t).contains(at) && what.starts_with("broker"),
            _ => false,
        });
        (!broker_fault).then_some(down?)
    }

    /// When the session a CONNECT sent at `requested_at` and accepted at
    /// `at` with Session Present 1 resumed may have begun, if not before the
    /// client last went away. A CONNECT in between that got no answer may
    /// have reached the broker all the same: with Clean Start 1 it ended
    /// the session and began an empty one; or, arriving after the session
    /// expired, it began an empty one. Either way the session present is
    /// that new one, with no subscriptions and nothing queued.
    fn replaced_while_away(
        &self,
        client: &str,
        requested_at: Ms,
        at: Ms,
        expiry: Option<u32>,
    ) -> Option<Ms> {
        let (down, _) = self.away_since(client, requested_at)?;
        let mut unanswered = self.unanswered(client, down, requested_at).peekable();
        unanswered.peek()?;
        if let Some((sent, _)) = unanswered.find(|(_, clean)| *clean) {
            return Some(sent.max(down + 1));
        }
        let expiry_ms = u64::from(expiry?) * 1000;
        (down + expiry_ms <= at + AWAY_MARGIN_MS).then_some(down + 1)
    }

    /// The CONNECTs of `client` sent in `[from, to)` that got no answer:
    /// when each went, and whether with Clean Start 1.
    fn unanswered<'s>(
        &'s self,
        client: &'s str,
        from: Ms,
        to: Ms,
    ) -> impl Iterator<Item = (Ms, bool)> + 's {
        self.h.events.iter().filter_map(move |e| match e {
            Event::Unanswered {
                client: c,
                requested_at,
                clean_start,
                ..
            } if c == client && (from..to).contains(requested_at) => {
                Some((*requested_at, *clean_start))
            }
            _ => None,
        })
    }

    /// A restart that kept nothing in `(from, to]`.
    pub(super) fn forgot_between(&self, from: Ms, to: Ms) -> bool {
        self.forgotten.iter().any(|&at| from < at && at <= to)
    }

    /// A cut or stall of `client`'s link between `from` and `to`.
    pub(super) fn link_fault(&self, client: &str, from: Ms, to: Ms) -> bool {
        self.link_fault_since(client, from, to).is_some()
    }

    /// When the first cut or stall of `client`'s link between `from` and
    /// `to` began.
    pub(super) fn link_fault_since(&self, client: &str, from: Ms, to: Ms) -> Option<Ms> {
        self.h
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Fault { at, what } if (from..=to).contains(at) => {
                    fault_hits(what, client, &["cut", "stall"]).then_some(*at)
                }
                _ => None,
            })
            .min()
    }

    /// A fault of one of `kinds` (as the fault text begins: `cut s1 for
    /// 500 ms`) on `client` between `from` and `to`.
    pub(super) fn fault_on(&self, client: &str, from: Ms, to: Ms, kinds: &[&str]) -> bool {
        self.h.events.iter().any(|e| match e {
            Event::Fault { at, what } => {
                (from..=to).contains(at) && fault_hits(what, client, kinds)
            }
            _ => false,
        })
    }

    pub(super) fn keep_alive_ms(&self) -> Ms {
        match self.h.roles.keep_alive {
            0 => DEFAULT_KEEP_ALIVE_MS,
            k => u64::from(k) * 1000,
        }
    }

    pub(super) fn conn(&self, client: &str, n: u32) -> Option<&Conn<'a>> {
        self.conns.get(client)?.get(&n)
    }

    /// Indices into `deliveries` of the copies of `id` that `client` got.
    pub(super) fn copies(&self, client: &str, id: &MsgId) -> &[usize] {
        self.received
            .get(client)
            .and_then(|m| m.get(id))
            .map_or(&[], Vec::as_slice)
    }

    pub(super) fn subs_of(&self, client: &str) -> &[Sub<'a>] {
        self.subs.get(client).map_or(&[], Vec::as_slice)
    }

    /// The client's live subscription matching `topic` at `t` with the
    /// highest granted QoS (the earliest of equals).
    pub(super) fn best_sub(&self, client: &str, topic: &str, t: Ms) -> Option<Sub<'a>> {
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

    pub(super) fn deliveries_of(&self, client: &str, id: &MsgId) -> Vec<Delivery<'a>> {
        self.copies(client, id)
            .iter()
            .map(|&i| self.deliveries[i])
            .collect()
    }

    /// Clients with a kept session that ever subscribed.
    pub(super) fn kept_subscribers(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.subs.keys().copied().filter(|c| self.kept.contains(c))
    }

    pub(super) fn violation(
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

/// Whether a fault text (`cut s1 for 500 ms`) is one of `kinds` on `client`.
fn fault_hits(what: &str, client: &str, kinds: &[&str]) -> bool {
    let mut words = what.split_whitespace();
    words.next().is_some_and(|k| kinds.contains(&k)) && words.next() == Some(client)
}
