//! A rumqttc client, 3.1.1 (`rumqttc`) or 5.0 (`rumqttc::v5`) behind one
//! API, for the `tcp_*` tests: its event loop runs in a task and reports to
//! a channel, every wait has a deadline, and the loop never reconnects by
//! itself — once the connection ends it reports `Closed` and stops, so every
//! reconnection in a test is explicit.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::BrokerProcess;

/// The longest any single wait may take.
pub const WAIT: Duration = Duration::from_secs(5);
/// Keep Alive the clients ask for.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// Session Expiry Interval of 5.0 persistent sessions.
pub const SESSION_EXPIRY: u32 = 300;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    V311,
    V5,
}

impl Proto {
    pub fn tag(self) -> &'static str {
        match self {
            Proto::V311 => "v311",
            Proto::V5 => "v5",
        }
    }
}

/// An application message as a client received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
}

/// What the event loop task reports, the same for both versions.
#[derive(Debug)]
enum Ev {
    ConnAck {
        session_present: bool,
        success: bool,
    },
    /// Granted QoS per filter; `None` for a refusal.
    SubAck(Vec<Option<u8>>),
    PubAck,
    PubComp,
    /// A message and its DUP flag.
    Publish(Msg, bool),
    /// The connection ended (error, or the broker closed it).
    Closed(String),
}

enum Api {
    V4(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
}

pub struct Opts<'a> {
    proto: Proto,
    id: &'a str,
    /// 3.1.1 Clean Session / 5.0 Clean Start. When false, 5.0 clients also
    /// ask for a Session Expiry Interval so the session outlives the
    /// connection.
    clean: bool,
    /// Will topic, payload, QoS.
    will: Option<(&'a str, &'a [u8], u8)>,
    /// Never acknowledge incoming QoS 1/2 messages (they stay in flight).
    no_acks: bool,
}

impl<'a> Opts<'a> {
    pub fn new(proto: Proto, id: &'a str) -> Opts<'a> {
        Opts {
            proto,
            id,
            clean: true,
            will: None,
            no_acks: false,
        }
    }

    pub fn persistent(mut self) -> Self {
        self.clean = false;
        self
    }

    /// Receives QoS 1 and 2 messages but never acknowledges them.
    pub fn no_acks(mut self) -> Self {
        self.no_acks = true;
        self
    }

    pub fn will(mut self, topic: &'a str, payload: &'a [u8], qos: u8) -> Self {
        self.will = Some((topic, payload, qos));
        self
    }
}

fn qos_v4(q: u8) -> rumqttc::QoS {
    match q {
        0 => rumqttc::QoS::AtMostOnce,
        1 => rumqttc::QoS::AtLeastOnce,
        _ => rumqttc::QoS::ExactlyOnce,
    }
}

fn qos_v5(q: u8) -> rumqttc::v5::mqttbytes::QoS {
    use rumqttc::v5::mqttbytes::QoS;
    match q {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

fn map_v4(event: rumqttc::Event) -> Option<Ev> {
    use rumqttc::{Event, Packet, SubscribeReasonCode};
    let Event::Incoming(packet) = event else {
        return None;
    };
    Some(match packet {
        Packet::ConnAck(c) => Ev::ConnAck {
            session_present: c.session_present,
            success: c.code == rumqttc::ConnectReturnCode::Success,
        },
        Packet::SubAck(s) => Ev::SubAck(
            s.return_codes
                .iter()
                .map(|r| match r {
                    SubscribeReasonCode::Success(q) => Some(*q as u8),
                    SubscribeReasonCode::Failure => None,
                })
                .collect(),
        ),
        Packet::PubAck(_) => Ev::PubAck,
        Packet::PubComp(_) => Ev::PubComp,
        Packet::Publish(p) => Ev::Publish(
            Msg {
                topic: p.topic.clone(),
                payload: p.payload.to_vec(),
                qos: p.qos as u8,
                retain: p.retain,
            },
            p.dup,
        ),
        _ => return None,
    })
}

fn map_v5(event: rumqttc::v5::Event) -> Option<Ev> {
    use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode, Packet, SubscribeReasonCode};
    use rumqttc::v5::Event;
    let Event::Incoming(packet) = event else {
        return None;
    };
    Some(match packet {
        Packet::ConnAck(c) => Ev::ConnAck {
            session_present: c.session_present,
            success: c.code == ConnectReturnCode::Success,
        },
        Packet::SubAck(s) => Ev::SubAck(
            s.return_codes
                .iter()
                .map(|r| match r {
                    SubscribeReasonCode::Success(q) => Some(*q as u8),
                    _ => None,
                })
                .collect(),
        ),
        Packet::PubAck(_) => Ev::PubAck,
        Packet::PubComp(_) => Ev::PubComp,
        Packet::Publish(p) => Ev::Publish(
            Msg {
                topic: String::from_utf8_lossy(&p.topic).into_owned(),
                payload: p.payload.to_vec(),
                qos: p.qos as u8,
                retain: p.retain,
            },
            p.dup,
        ),
        Packet::Disconnect(d) => Ev::Closed(format!("DISCONNECT from the broker: {d:?}")),
        _ => return None,
    })
}

/// A connected rumqttc client whose event loop runs in its own task. The
/// loop never reconnects: once the connection ends it reports `Closed` and
/// stops, so every reconnection in a test is explicit.
pub struct Client {
    name: String,
    api: Api,
    events: mpsc::UnboundedReceiver<Ev>,
    /// Messages (and DUP) that arrived while the test waited for something
    /// else.
    pending: VecDeque<(Msg, bool)>,
    task: JoinHandle<()>,
}

impl Client {
    /// Connects and waits for a successful CONNACK; returns the client and
    /// CONNACK's Session Present.
    pub async fn connect(broker: &BrokerProcess, opts: Opts<'_>) -> (Client, bool) {
        let (tx, events) = mpsc::unbounded_channel();
        let (host, port) = (broker.host(), broker.port());
        let (api, task) = match opts.proto {
            Proto::V311 => {
                let mut o = rumqttc::MqttOptions::new(opts.id, host, port);
                o.set_keep_alive(KEEP_ALIVE)
                    .set_clean_session(opts.clean)
                    .set_manual_acks(opts.no_acks);
                if let Some((topic, payload, qos)) = opts.will {
                    o.set_last_will(rumqttc::LastWill::new(
                        topic,
                        payload.to_vec(),
                        qos_v4(qos),
                        false,
                    ));
                }
                let (client, mut eventloop) = rumqttc::AsyncClient::new(o, 64);
                let task = tokio::spawn(async move {
                    loop {
                        match eventloop.poll().await {
                            Ok(event) => {
                                if let Some(ev) = map_v4(event) {
                                    let _ = tx.send(ev);
                                }
                            }
                            Err(e) => {
                                let _ = tx.send(Ev::Closed(e.to_string()));
                                return;
                            }
                        }
                    }
                });
                (Api::V4(client), task)
            }
            Proto::V5 => {
                let mut o = rumqttc::v5::MqttOptions::new(opts.id, host, port);
                o.set_keep_alive(KEEP_ALIVE)
                    .set_clean_start(opts.clean)
                    .set_manual_acks(opts.no_acks);
                if !opts.clean {
                    o.set_session_expiry_interval(Some(SESSION_EXPIRY));
                }
                if let Some((topic, payload, qos)) = opts.will {
                    o.set_last_will(rumqttc::v5::mqttbytes::v5::LastWill::new(
                        topic,
                        payload.to_vec(),
                        qos_v5(qos),
                        false,
                        None,
                    ));
                }
                let (client, mut eventloop) = rumqttc::v5::AsyncClient::new(o, 64);
                let task = tokio::spawn(async move {
                    loop {
                        match eventloop.poll().await {
                            Ok(event) => {
                                if let Some(ev) = map_v5(event) {
                                    let _ = tx.send(ev);
                                }
                            }
                            Err(e) => {
                                let _ = tx.send(Ev::Closed(e.to_string()));
                                return;
                            }
                        }
                    }
                });
                (Api::V5(client), task)
            }
        };
        let mut client = Client {
            name: format!("{} ({:?})", opts.id, opts.proto),
            api,
            events,
            pending: VecDeque::new(),
            task,
        };
        let (session_present, success) = client
            .expect("CONNACK", |ev| match ev {
                Ev::ConnAck {
                    session_present,
                    success,
                } => Some((*session_present, *success)),
                _ => None,
            })
            .await;
        assert!(success, "{}: CONNECT refused", client.name);
        (client, session_present)
    }

    /// The next event, within the deadline.
    async fn next_event(&mut self, what: &str) -> Ev {
        match timeout(WAIT, self.events.recv()).await {
            Ok(Some(ev)) => ev,
            Ok(None) => panic!("{}: event loop gone while waiting for {what}", self.name),
            Err(_) => panic!("{}: no {what} within {WAIT:?}", self.name),
        }
    }

    /// Waits for the event `f` picks; keeps messages that arrive meanwhile;
    /// fails if the connection ends first.
    async fn expect<T>(&mut self, what: &str, mut f: impl FnMut(&Ev) -> Option<T>) -> T {
        loop {
            let ev = self.next_event(what).await;
            if let Some(t) = f(&ev) {
                return t;
            }
            match ev {
                Ev::Publish(m, dup) => self.pending.push_back((m, dup)),
                Ev::Closed(why) => {
                    panic!(
                        "{}: connection ended while waiting for {what}: {why}",
                        self.name
                    )
                }
                _ => {}
            }
        }
    }

    /// The next application message.
    pub async fn recv(&mut self) -> Msg {
        self.recv_with_dup().await.0
    }

    /// The next application message and its DUP flag.
    pub async fn recv_with_dup(&mut self) -> (Msg, bool) {
        if let Some(m) = self.pending.pop_front() {
            return m;
        }
        self.expect("PUBLISH", |ev| match ev {
            Ev::Publish(m, dup) => Some((m.clone(), *dup)),
            _ => None,
        })
        .await
    }

    /// The next `n` application messages.
    pub async fn recv_n(&mut self, n: usize) -> Vec<Msg> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.recv().await);
        }
        out
    }

    pub async fn subscribe(&mut self, filter: &str, qos: u8) {
        let r = match &self.api {
            Api::V4(c) => c
                .subscribe(filter, qos_v4(qos))
                .await
                .map_err(|e| e.to_string()),
            Api::V5(c) => c
                .subscribe(filter, qos_v5(qos))
                .await
                .map_err(|e| e.to_string()),
        };
        r.unwrap_or_else(|e| panic!("{}: subscribe: {e}", self.name));
        let granted = self
            .expect("SUBACK", |ev| match ev {
                Ev::SubAck(g) => Some(g.clone()),
                _ => None,
            })
            .await;
        assert_eq!(
            granted,
            vec![Some(qos)],
            "{}: SUBACK for {filter:?} at QoS {qos}",
            self.name
        );
    }

    /// Publishes and, for QoS 1 and 2, waits until the flow is complete
    /// (PUBACK / PUBCOMP).
    pub async fn publish(&mut self, topic: &str, qos: u8, retain: bool, payload: &[u8]) {
        let payload = payload.to_vec();
        let r = match &self.api {
            Api::V4(c) => c
                .publish(topic, qos_v4(qos), retain, payload)
                .await
                .map_err(|e| e.to_string()),
            Api::V5(c) => c
                .publish(topic, qos_v5(qos), retain, payload)
                .await
                .map_err(|e| e.to_string()),
        };
        r.unwrap_or_else(|e| panic!("{}: publish: {e}", self.name));
        match qos {
            0 => {}
            1 => {
                self.expect("PUBACK", |ev| matches!(ev, Ev::PubAck).then_some(()))
                    .await
            }
            _ => {
                self.expect("PUBCOMP", |ev| matches!(ev, Ev::PubComp).then_some(()))
                    .await
            }
        }
    }

    /// DISCONNECT, then wait for the broker to close the connection
    /// (MQTT-3.14.4-1 says the client closes it; the broker closing it first
    /// is fine too). Either way, once it is closed the broker has processed
    /// the DISCONNECT.
    pub async fn disconnect(mut self) {
        let r = match &self.api {
            Api::V4(c) => c.disconnect().await.map_err(|e| e.to_string()),
            Api::V5(c) => c.disconnect().await.map_err(|e| e.to_string()),
        };
        r.unwrap_or_else(|e| panic!("{}: disconnect: {e}", self.name));
        self.closed().await;
        let _ = timeout(WAIT, &mut self.task).await;
    }

    /// Waits for the connection to end (the broker closing it); returns why,
    /// as rumqttc says it. Messages arriving meanwhile are kept.
    pub async fn closed(&mut self) -> String {
        loop {
            match self.next_event("the connection to close").await {
                Ev::Closed(why) => return why,
                Ev::Publish(m, dup) => self.pending.push_back((m, dup)),
                _ => {}
            }
        }
    }

    /// Ends the connection without DISCONNECT: the event loop, and with it
    /// the socket, is dropped.
    pub async fn kill(mut self) {
        self.task.abort();
        let _ = timeout(WAIT, &mut self.task).await;
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn msg(topic: &str, payload: &[u8], qos: u8, retain: bool) -> Msg {
    Msg {
        topic: topic.to_owned(),
        payload: payload.to_vec(),
        qos,
        retain,
    }
}
