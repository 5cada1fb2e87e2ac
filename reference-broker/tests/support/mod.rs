//! A tiny sans-I/O test client over the broker core: no sockets, no clocks.
//! A [`Harness`] owns a [`Broker`], a simulated clock and a [`MemoryStore`];
//! it follows the driver contract (changes stored after every call, then all
//! actions taken) and sorts the actions by connection, so a test can send
//! packets as a client and read back what the broker sent that client.

#![allow(dead_code)]

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use protocol::{
    Ack, ConnAck, Connect, Decoder, Packet, Properties, Publish, QoS, ReasonCode, SubAck,
    Subscribe, Subscription, SubscriptionOptions, UnsubAck, Unsubscribe, Version, Will,
};
use reference_broker::store::{MemoryStore, Store};
use reference_broker::{Action, Broker, Config, ConnId, Millis};

pub const VERSIONS: [Version; 2] = [Version::V311, Version::V5];

/// One simulated network connection, as seen by the test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client {
    pub conn: ConnId,
    pub version: Version,
}

#[derive(Debug, Default)]
struct Line {
    /// Bytes the broker sent and the test has not read yet.
    inbox: BytesMut,
    /// The broker asked for the connection to be closed.
    closed: bool,
    /// The broker sent bytes after asking to close (a bug).
    sent_after_close: bool,
    next_packet_id: u16,
}

pub struct Harness {
    pub broker: Broker,
    pub now: Millis,
    pub store: MemoryStore,
    lines: BTreeMap<ConnId, Line>,
    /// Every action the broker asked for, in order.
    pub log: Vec<Action>,
}

impl Harness {
    pub fn new(config: Config) -> Harness {
        Harness::with_broker(Broker::new(config), 0, MemoryStore::new())
    }

    pub fn default_config() -> Harness {
        Harness::new(Config::default())
    }

    /// Wraps a broker (e.g. one from `Broker::restore`) and takes the actions
    /// it already has.
    pub fn with_broker(broker: Broker, now: Millis, store: MemoryStore) -> Harness {
        let mut h = Harness {
            broker,
            now,
            store,
            lines: BTreeMap::new(),
            log: Vec::new(),
        };
        h.drain();
        h
    }

    /// A broker restarted from what this one stored (a crash: no shutdown).
    pub fn restart(&self, config: Config) -> Harness {
        let snapshot = self.store.load().expect("memory store loads");
        let broker = Broker::restore(config, snapshot, self.now);
        Harness::with_broker(broker, self.now, self.store.clone())
    }

    /// Stores the changes, then takes every action (the driver contract).
    fn drain(&mut self) {
        let changes = self.broker.take_changes();
        self.store.apply(&changes).expect("memory store applies");
        while let Some(action) = self.broker.poll_action() {
            match &action {
                Action::Send { conn, data } => {
                    let line = self.lines.entry(*conn).or_default();
                    if line.closed {
                        line.sent_after_close = true;
                    }
                    line.inbox.extend_from_slice(data);
                }
                Action::Close { conn } => self.lines.entry(*conn).or_default().closed = true,
            }
            self.log.push(action);
        }
    }

    // ---- time -------------------------------------------------------------

    /// Moves the clock to `now + ms` and lets the broker see it.
    pub fn advance(&mut self, ms: Millis) {
        self.now += ms;
        self.broker.handle_timeout(self.now);
        self.drain();
    }

    /// Moves the clock without telling the broker (the next input will).
    pub fn advance_silently(&mut self, ms: Millis) {
        self.now += ms;
    }

    // ---- connections ------------------------------------------------------

    /// Opens a network connection; nothing sent yet.
    pub fn open(&mut self, version: Version) -> Client {
        let conn = self.broker.handle_open(self.now);
        self.lines.insert(
            conn,
            Line {
                next_packet_id: 1,
                ..Line::default()
            },
        );
        self.drain();
        Client { conn, version }
    }

    /// Sends a packet encoded for the client's version.
    pub fn send(&mut self, c: Client, packet: impl Into<Packet>) {
        let packet = packet.into();
        let mut out = BytesMut::new();
        protocol::encode(&packet, c.version, &mut out)
            .unwrap_or_else(|e| panic!("test packet does not encode: {e}: {packet:?}"));
        self.send_raw(c, &out);
    }

    /// Sends bytes as they are.
    pub fn send_raw(&mut self, c: Client, data: &[u8]) {
        self.broker.handle_data(c.conn, data, self.now);
        self.drain();
    }

    /// The network connection dropped (not at the broker's request).
    pub fn drop_connection(&mut self, c: Client) {
        self.broker.handle_close(c.conn, self.now);
        self.drain();
    }

    pub fn shutdown(&mut self) {
        self.broker.handle_shutdown(self.now);
        self.drain();
    }

    /// Whether the broker closed this connection.
    pub fn is_closed(&self, c: Client) -> bool {
        let line = &self.lines[&c.conn];
        assert!(!line.sent_after_close, "broker sent bytes after Close");
        line.closed
    }

    /// Raw bytes the broker sent this connection since the last read.
    pub fn take_bytes(&mut self, c: Client) -> Bytes {
        self.lines
            .get_mut(&c.conn)
            .expect("known connection")
            .inbox
            .split()
            .freeze()
    }

    /// Every packet the broker sent this connection since the last read,
    /// decoded as the client's version. Panics if the broker sent bytes a
    /// strict decoder refuses.
    pub fn recv(&mut self, c: Client) -> Vec<Packet> {
        decode_all(&self.take_bytes(c), c.version)
    }

    /// Asserts the broker sent nothing to this connection.
    pub fn expect_nothing(&mut self, c: Client) {
        let got = self.recv(c);
        assert!(got.is_empty(), "expected nothing, got {got:?}");
    }

    /// The next packet identifier this client uses.
    pub fn next_id(&mut self, c: Client) -> u16 {
        let line = self.lines.get_mut(&c.conn).expect("known connection");
        let id = line.next_packet_id;
        line.next_packet_id = line.next_packet_id.checked_add(1).unwrap_or(1);
        id
    }

    // ---- whole exchanges -------------------------------------------------

    /// Opens a connection, sends this CONNECT, returns the client and what
    /// came back.
    pub fn connect_with(&mut self, connect: Connect) -> (Client, Vec<Packet>) {
        let c = self.open(connect.version);
        self.send(c, connect);
        let got = self.recv(c);
        (c, got)
    }

    /// Connects and expects a successful CONNACK.
    pub fn connect_ack(&mut self, connect: Connect) -> (Client, ConnAck) {
        let (c, got) = self.connect_with(connect);
        match got.as_slice() {
            [Packet::ConnAck(ack), ..] if ack.reason == ReasonCode::SUCCESS => {
                // Anything after CONNACK (resent messages) stays for the test.
                let rest = got[1..].to_vec();
                self.requeue(c, &rest);
                (c, ack.clone())
            }
            other => panic!("expected CONNACK success, got {other:?}"),
        }
    }

    /// Connects a fresh session (clean start, no keep alive).
    pub fn connect(&mut self, version: Version, client_id: &str) -> Client {
        self.connect_ack(connect(version, client_id)).0
    }

    /// Connects to a kept session: 3.1.1 CleanSession=0; 5.0 Clean Start=0
    /// and a long Session Expiry Interval.
    pub fn connect_persistent(&mut self, version: Version, client_id: &str) -> (Client, ConnAck) {
        self.connect_ack(persistent(version, client_id))
    }

    /// Puts decoded packets back in front of what is unread.
    fn requeue(&mut self, c: Client, packets: &[Packet]) {
        let mut out = BytesMut::new();
        for p in packets {
            protocol::encode(p, c.version, &mut out).expect("re-encode");
        }
        let line = self.lines.get_mut(&c.conn).expect("known connection");
        out.extend_from_slice(&line.inbox);
        line.inbox = out;
    }

    /// Subscribes and returns the SUBACK; anything after it (retained
    /// messages) stays unread.
    pub fn subscribe_with(&mut self, c: Client, subs: Vec<Subscription>) -> SubAck {
        self.subscribe_props(c, subs, Properties::default())
    }

    pub fn subscribe_props(
        &mut self,
        c: Client,
        subs: Vec<Subscription>,
        properties: Properties,
    ) -> SubAck {
        let packet_id = self.next_id(c);
        self.send(
            c,
            Packet::Subscribe(Subscribe {
                packet_id,
                properties,
                filters: subs,
            }),
        );
        let got = self.recv(c);
        match got.as_slice() {
            [Packet::SubAck(ack), ..] => {
                assert_eq!(ack.packet_id, packet_id, "MQTT-3.8.4-2");
                let rest = got[1..].to_vec();
                self.requeue(c, &rest);
                ack.clone()
            }
            other => panic!("expected SUBACK, got {other:?}"),
        }
    }

    /// Subscribes to one filter and checks it was granted.
    pub fn subscribe(&mut self, c: Client, filter: &str, qos: QoS) -> SubAck {
        let ack = self.subscribe_with(c, vec![sub(filter, qos)]);
        assert_eq!(
            ack.reasons,
            vec![ReasonCode(qos as u8)],
            "SUBACK for {filter}"
        );
        ack
    }

    pub fn unsubscribe(&mut self, c: Client, filters: &[&str]) -> UnsubAck {
        let packet_id = self.next_id(c);
        self.send(
            c,
            Packet::Unsubscribe(Unsubscribe {
                packet_id,
                properties: Properties::default(),
                filters: filters.iter().map(|f| f.to_string()).collect(),
            }),
        );
        match self.recv(c).as_slice() {
            [Packet::UnsubAck(ack)] => {
                assert_eq!(ack.packet_id, packet_id, "MQTT-3.10.4-4");
                ack.clone()
            }
            other => panic!("expected UNSUBACK, got {other:?}"),
        }
    }

    /// Publishes and completes the client's side of the QoS flow (PUBACK, or
    /// PUBREC then PUBREL and PUBCOMP). Returns the packet id used.
    pub fn publish(
        &mut self,
        c: Client,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
    ) -> Option<u16> {
        let mut p = publish(topic, payload, qos);
        p.retain = retain;
        self.publish_packet(c, p)
    }

    /// Sends a PUBLISH (its packet id filled in if QoS > 0) and completes the
    /// flow. Other packets that arrive meanwhile stay unread.
    pub fn publish_packet(&mut self, c: Client, mut p: Publish) -> Option<u16> {
        if p.qos != QoS::AtMostOnce && p.packet_id.is_none() {
            p.packet_id = Some(self.next_id(c));
        }
        let id = p.packet_id;
        let qos = p.qos;
        self.send(c, Packet::Publish(p));
        match qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => {
                let ack = self.take_packet(c, |p| matches!(p, Packet::PubAck(_)));
                assert_eq!(ack.packet_id(), id, "MQTT-2.3.1-6 / MQTT-2.2.1-5");
            }
            QoS::ExactlyOnce => {
                let rec = self.take_packet(c, |p| matches!(p, Packet::PubRec(_)));
                assert_eq!(rec.packet_id(), id);
                self.send(c, Packet::PubRel(Ack::new(id.unwrap())));
                let comp = self.take_packet(c, |p| matches!(p, Packet::PubComp(_)));
                assert_eq!(comp.packet_id(), id);
                assert_eq!(comp, Packet::PubComp(Ack::new(id.unwrap())));
            }
        }
        id
    }

    /// Removes and returns the first unread packet that satisfies `f`.
    pub fn take_packet(&mut self, c: Client, f: impl Fn(&Packet) -> bool) -> Packet {
        let mut got = self.recv(c);
        let i = got
            .iter()
            .position(&f)
            .unwrap_or_else(|| panic!("expected packet not received; got {got:?}"));
        let p = got.remove(i);
        self.requeue(c, &got);
        p
    }

    /// Every PUBLISH received since the last read (other packets dropped).
    pub fn publishes(&mut self, c: Client) -> Vec<Publish> {
        self.recv(c)
            .into_iter()
            .filter_map(|p| match p {
                Packet::Publish(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    /// Acknowledges a received PUBLISH as its QoS requires, completing QoS 2
    /// (PUBREC, expect PUBREL, PUBCOMP).
    pub fn ack(&mut self, c: Client, p: &Publish) {
        let Some(id) = p.packet_id else {
            return;
        };
        match p.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => self.send(c, Packet::PubAck(Ack::new(id))),
            QoS::ExactlyOnce => {
                self.send(c, Packet::PubRec(Ack::new(id)));
                let rel = self.take_packet(c, |p| matches!(p, Packet::PubRel(_)));
                assert_eq!(rel, Packet::PubRel(Ack::new(id)), "MQTT-4.3.3-4");
                self.send(c, Packet::PubComp(Ack::new(id)));
            }
        }
    }

    /// Reads every PUBLISH and acknowledges each.
    pub fn receive_and_ack(&mut self, c: Client) -> Vec<Publish> {
        let got = self.publishes(c);
        for p in &got {
            self.ack(c, p);
        }
        got
    }

    pub fn disconnect(&mut self, c: Client) {
        self.send(c, Packet::Disconnect(Default::default()));
        assert!(self.is_closed(c), "the server closes after DISCONNECT");
    }
}

/// Decodes a whole byte stream the broker sent. Panics if a strict decoder
/// refuses any of it.
pub fn decode_all(bytes: &[u8], version: Version) -> Vec<Packet> {
    try_decode_all(bytes, version).unwrap_or_else(|e| panic!("{e}"))
}

pub fn try_decode_all(bytes: &[u8], version: Version) -> Result<Vec<Packet>, String> {
    let mut buf = BytesMut::from(bytes);
    let decoder = Decoder::new(version);
    let mut packets = Vec::new();
    while !buf.is_empty() {
        match decoder.decode(&mut buf) {
            Ok(Some(p)) => packets.push(p),
            Ok(None) => return Err(format!("broker sent a partial packet: {buf:?}")),
            Err(e) => return Err(format!("broker sent a malformed packet: {e} ({buf:?})")),
        }
    }
    Ok(packets)
}

// ---- packet builders ------------------------------------------------------

/// A CONNECT: clean start, no keep alive, no will, no credentials.
pub fn connect(version: Version, client_id: &str) -> Connect {
    Connect {
        version,
        clean_start: true,
        keep_alive: 0,
        properties: Properties::default(),
        client_id: client_id.to_owned(),
        will: None,
        username: None,
        password: None,
    }
}

/// A CONNECT for a session that outlives the connection.
pub fn persistent(version: Version, client_id: &str) -> Connect {
    let mut c = connect(version, client_id);
    c.clean_start = false;
    if version == Version::V5 {
        c.properties.session_expiry_interval = Some(3600);
    }
    c
}

pub fn will(topic: &str, payload: &[u8], qos: QoS, retain: bool) -> Will {
    Will {
        topic: topic.to_owned(),
        payload: Bytes::copy_from_slice(payload),
        qos,
        retain,
        properties: Properties::default(),
    }
}

/// A PUBLISH without packet id (the harness fills it in).
pub fn publish(topic: &str, payload: &[u8], qos: QoS) -> Publish {
    Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.to_owned(),
        packet_id: None,
        properties: Properties::default(),
        payload: Bytes::copy_from_slice(payload),
    }
}

pub fn sub(filter: &str, qos: QoS) -> Subscription {
    Subscription {
        filter: filter.to_owned(),
        options: SubscriptionOptions {
            qos,
            ..SubscriptionOptions::default()
        },
    }
}

pub fn sub_opts(filter: &str, options: SubscriptionOptions) -> Subscription {
    Subscription {
        filter: filter.to_owned(),
        options,
    }
}

pub fn qos(n: u8) -> QoS {
    QoS::from_u8(n).expect("0, 1 or 2")
}

/// The payloads of some PUBLISHes, as strings.
pub fn payloads(ps: &[Publish]) -> Vec<String> {
    ps.iter()
        .map(|p| String::from_utf8_lossy(&p.payload).into_owned())
        .collect()
}

/// The one DISCONNECT in `packets`, if there is exactly one and it is last.
pub fn disconnect_reason(packets: &[Packet]) -> Option<ReasonCode> {
    match packets.last() {
        Some(Packet::Disconnect(d)) => Some(d.reason),
        _ => None,
    }
}
