//! A scripted client: on its own simulated host, or over real TCP (and TLS)
//! to a real broker. It does I/O only: connects, writes what the runner
//! hands it, reads and decodes what arrives (strictly: a malformed packet
//! from the broker is recorded as such), acknowledges and pings if told to,
//! and shows the wire monitor both directions (its breaches are kept for
//! the runner, and written in the trace). The runner decides everything
//! else.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use protocol::{Ack, DecodeError, Decoder, Packet, QoS, Version};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

use crate::net::monitor::{Breach, ClientIds, Level, Monitor};
use record::trace::{describe, Kind, Trace};

pub const BROKER_HOST: &str = "broker";
pub const BROKER_PORT: u16 = 1883;

#[derive(Debug)]
pub enum Command {
    /// Open a TCP connection to the broker (closing any current one).
    Connect,
    /// Write bytes; `label` is what the trace shows.
    Send { bytes: Bytes, label: String },
    /// Close the connection without a word (FIN).
    Close,
}

/// What the runner and the client's task share.
pub struct ClientState {
    pub name: String,
    pub version: Version,
    pub auto_ack: bool,
    pub auto_ping: bool,
    pub keep_alive: u16,
    pub commands: VecDeque<Command>,
    /// A command is being carried out (e.g. a connect in progress).
    pub busy: bool,
    /// Packets received and not yet taken by a step, in arrival order.
    pub inbox: VecDeque<Packet>,
    pub connected: bool,
    /// The current connection was closed by the other side (or reset).
    pub closed: bool,
    /// Why the last connect failed.
    pub connect_error: Option<String>,
    /// The broker sent bytes that are not a valid packet.
    pub protocol_error: Option<String>,
    /// The CONNECT sent names a protocol level this client does not speak:
    /// the broker cannot know which version's CONNACK to answer with (5.0
    /// MQTT-3.1.2-2), so one that reads only in the other version's form
    /// is taken as it is.
    pub connack_any_form: bool,
    /// Watches every packet each way on this client's connections.
    pub monitor: Monitor,
    /// What the broker sent that breaks a MUST of the spec, with when (ms):
    /// the runner fails the run on the first.
    pub breaches: Vec<(u64, Breach)>,
    /// What the monitor found that breaks no MUST (a SHOULD, prose), for
    /// the runner to report as advisories.
    pub advised: Vec<Breach>,
}

/// Where a client's connections go, and how time is read for its trace.
#[derive(Clone)]
pub enum Connector {
    /// The broker host of the simulated world.
    Sim,
    /// Real TCP (through a fault proxy); TLS on top when configured.
    Tcp {
        addr: std::net::SocketAddr,
        tls: Option<crate::net::tls::Tls>,
        /// Trace times count from here.
        start: std::time::Instant,
        /// Longest a connect (TCP and TLS handshake) may take.
        timeout: Duration,
    },
}

/// Any byte stream a client can talk MQTT over.
pub trait Stream: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Stream for T {}

impl Connector {
    pub(crate) async fn connect(&self) -> std::io::Result<Box<dyn Stream>> {
        match self {
            Connector::Sim => {
                let s = turmoil::net::TcpStream::connect((BROKER_HOST, BROKER_PORT)).await?;
                // Tapped, so the world can tell what the network did with
                // each packet.
                Ok(crate::sim::netlog::client_end(s))
            }
            Connector::Tcp {
                addr, tls, timeout, ..
            } => {
                let connect = async {
                    let tcp = tokio::net::TcpStream::connect(addr).await?;
                    let _ = tcp.set_nodelay(true);
                    match tls {
                        None => Ok(Box::new(tcp) as Box<dyn Stream>),
                        Some(tls) => Ok(Box::new(tls.connect(tcp).await?) as Box<dyn Stream>),
                    }
                };
                tokio::time::timeout(*timeout, connect)
                    .await
                    .unwrap_or_else(|_| {
                        Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!("no connection within {} ms", timeout.as_millis()),
                        ))
                    })
            }
        }
    }

    pub(crate) fn now_ms(&self) -> u64 {
        match self {
            Connector::Sim => turmoil::sim_elapsed().map_or(0, |d| d.as_millis() as u64),
            Connector::Tcp { start, .. } => start.elapsed().as_millis() as u64,
        }
    }
}

pub struct Shared {
    pub state: RefCell<ClientState>,
    pub notify: Notify,
    /// Signalled whenever the state changes, for a runner waiting in real
    /// time.
    pub progress: Rc<Notify>,
    pub trace: Rc<RefCell<Trace>>,
    pub connector: Connector,
}

impl Shared {
    /// `ids` is shared by every client of the run (see `ClientIds`).
    pub fn new(
        name: &str,
        version: Version,
        trace: Rc<RefCell<Trace>>,
        connector: Connector,
        progress: Rc<Notify>,
        ids: ClientIds,
    ) -> Rc<Shared> {
        Rc::new(Shared {
            state: RefCell::new(ClientState {
                name: name.to_owned(),
                version,
                auto_ack: true,
                auto_ping: true,
                keep_alive: 60,
                commands: VecDeque::new(),
                busy: false,
                inbox: VecDeque::new(),
                connected: false,
                closed: false,
                connect_error: None,
                protocol_error: None,
                connack_any_form: false,
                monitor: Monitor::new(version, ids),
                breaches: Vec::new(),
                advised: Vec::new(),
            }),
            notify: Notify::new(),
            progress,
            trace,
            connector,
        })
    }

    pub fn command(&self, c: Command) {
        self.state.borrow_mut().commands.push_back(c);
        self.notify.notify_one();
    }

    /// Every queued command has been carried out.
    pub fn idle(&self) -> bool {
        let s = self.state.borrow();
        s.commands.is_empty() && !s.busy
    }

    fn log(&self, kind: Kind) {
        let at = self.connector.now_ms();
        let name = self.state.borrow().name.clone();
        self.trace.borrow_mut().push(at, &name, kind);
    }

    /// The connection ended, whichever side ended it.
    fn closed(&self) {
        self.state.borrow_mut().monitor.on_connection_closed();
    }

    fn sent(&self, p: &Packet) {
        self.state.borrow_mut().monitor.on_sent(p);
    }

    /// Shows the monitor a packet from the broker; a breach goes into the
    /// trace (only then: a passing run's trace is unchanged) and, if it
    /// breaks a MUST, to the runner.
    fn received(&self, p: &Packet, wire_len: usize) {
        let found = self.state.borrow_mut().monitor.on_received(p, wire_len);
        for b in found {
            if b.level == Level::Must {
                self.log(Kind::Event(b.to_string()));
                let at = self.connector.now_ms();
                self.state.borrow_mut().breaches.push((at, b));
            } else {
                // The runner writes it in the trace as the step's advisory.
                self.state.borrow_mut().advised.push(b);
            }
        }
    }
}

enum Wake {
    Command,
    Read(std::io::Result<usize>),
    Ping,
}

async fn read_some(
    stream: &mut Option<Box<dyn Stream>>,
    buf: &mut BytesMut,
) -> std::io::Result<usize> {
    match stream {
        Some(s) => s.read_buf(buf).await,
        None => std::future::pending().await,
    }
}

/// The client's software; restarted from scratch when its host is reset.
pub async fn run(shared: Rc<Shared>) -> turmoil::Result {
    let result = run_inner(&shared).await;
    shared.progress.notify_one();
    result
}

async fn run_inner(shared: &Rc<Shared>) -> turmoil::Result {
    {
        let mut s = shared.state.borrow_mut();
        if s.connected {
            s.connected = false;
            s.closed = true;
        }
        s.busy = false;
        s.monitor.on_connection_closed();
    }
    let mut stream: Option<Box<dyn Stream>> = None;
    let mut buf = BytesMut::new();
    let mut last_sent = tokio::time::Instant::now();
    // Keep Alive starts with the CONNACK of this connection: no PINGREQ
    // before CONNECT, nor from a timer left over from the last connection.
    let mut accepted = false;
    // PINGRESPs still owed for automatic PINGREQs: those are hidden, the
    // answer to a PINGREQ a step sent is not.
    let mut auto_pings: u32 = 0;
    loop {
        // Carry out what the runner asked for, in order.
        loop {
            let cmd = {
                let mut s = shared.state.borrow_mut();
                let c = s.commands.pop_front();
                s.busy = c.is_some();
                c
            };
            let Some(cmd) = cmd else { break };
            match cmd {
                Command::Connect => {
                    stream = None;
                    shared.closed();
                    buf.clear();
                    accepted = false;
                    auto_pings = 0;
                    match shared.connector.connect().await {
                        Ok(s) => {
                            stream = Some(s);
                            let mut st = shared.state.borrow_mut();
                            st.connected = true;
                            st.closed = false;
                            st.connect_error = None;
                            st.protocol_error = None;
                            st.connack_any_form = false;
                            st.monitor.on_connection_opened();
                            drop(st);
                            shared.log(Kind::Event("TCP connected".into()));
                        }
                        Err(e) => {
                            shared.state.borrow_mut().connect_error = Some(e.to_string());
                            shared.log(Kind::Event(format!("TCP connect failed: {e}")));
                        }
                    }
                }
                Command::Send { bytes, label } => match &mut stream {
                    Some(s) => {
                        shared.log(Kind::Sent(label));
                        last_sent = tokio::time::Instant::now();
                        shared.state.borrow_mut().monitor.on_sent_bytes(&bytes);
                        if let Err(e) = s.write_all(&bytes).await {
                            shared.log(Kind::Event(format!("write failed: {e}")));
                            shared.closed();
                            stream = None;
                            let mut st = shared.state.borrow_mut();
                            st.connected = false;
                            st.closed = true;
                        }
                    }
                    None => shared.log(Kind::Event(format!("not connected; not sent: {label}"))),
                },
                Command::Close => {
                    if stream.take().is_some() {
                        shared.log(Kind::Event("closed the connection".into()));
                    }
                    shared.closed();
                    shared.state.borrow_mut().connected = false;
                }
            }
        }
        shared.state.borrow_mut().busy = false;
        shared.progress.notify_one();

        let (auto_ping, keep_alive) = {
            let s = shared.state.borrow();
            (s.auto_ping && s.connected && accepted, s.keep_alive)
        };
        let ping_at = last_sent + Duration::from_secs(u64::from(keep_alive.max(1)));
        let wake = tokio::select! {
            _ = shared.notify.notified() => Wake::Command,
            r = read_some(&mut stream, &mut buf) => Wake::Read(r),
            _ = tokio::time::sleep_until(ping_at), if auto_ping && keep_alive > 0 => Wake::Ping,
        };
        match wake {
            Wake::Command => {}
            Wake::Ping => {
                if let Some(s) = &mut stream {
                    last_sent = tokio::time::Instant::now();
                    shared.sent(&Packet::PingReq);
                    if s.write_all(&[0xC0, 0x00]).await.is_ok() {
                        auto_pings += 1;
                        shared.log(Kind::Sent("PINGREQ (keep alive)".into()));
                    }
                }
            }
            Wake::Read(Ok(0)) | Wake::Read(Err(_)) => {
                let why = match wake {
                    Wake::Read(Err(e)) => format!("connection lost: {e}"),
                    _ => "connection closed by the broker".into(),
                };
                stream = None;
                shared.closed();
                let mut st = shared.state.borrow_mut();
                st.connected = false;
                st.closed = true;
                drop(st);
                shared.log(Kind::Event(why));
            }
            Wake::Read(Ok(_)) => {
                let (version, any_form) = {
                    let st = shared.state.borrow();
                    (st.version, st.connack_any_form)
                };
                let decoder = Decoder::new(version);
                loop {
                    let before = buf.len();
                    // Only a CONNACK may come in the other version's form.
                    let decoded = if any_form && buf.first().is_some_and(|b| b >> 4 == 2) {
                        connack_any_form(&mut buf, version)
                    } else {
                        decoder.decode(&mut buf)
                    };
                    match decoded {
                        Ok(None) => break,
                        Ok(Some(packet)) => {
                            shared.log(Kind::Received(describe(&packet)));
                            shared.received(&packet, before - buf.len());
                            if let Packet::ConnAck(a) = &packet {
                                // Pinging starts once accepted, counting
                                // from the CONNECT (which set `last_sent`).
                                accepted |= a.reason.0 < 0x80;
                                // MQTT-3.2.2-21: a Server Keep Alive replaces
                                // the client's own.
                                if let Some(k) = a.properties.server_keep_alive {
                                    shared.state.borrow_mut().keep_alive = k;
                                }
                            }
                            let reply = auto_reply(shared, &packet);
                            // The PUBREL of a delivery the client acknowledges
                            // by itself is part of that handshake, as PINGRESP
                            // is of auto ping: not offered to `expect`.
                            let hidden = matches!(packet, Packet::PubRel(_)) && reply.is_some();
                            if let Some(reply) = reply {
                                if let Some(s) = &mut stream {
                                    let mut out = BytesMut::new();
                                    if protocol::encode(&reply, version, &mut out).is_ok() {
                                        shared.log(Kind::Sent(format!(
                                            "{} (auto)",
                                            describe(&reply)
                                        )));
                                        last_sent = tokio::time::Instant::now();
                                        shared.sent(&reply);
                                        let _ = s.write_all(&out).await;
                                    }
                                }
                            }
                            let mut st = shared.state.borrow_mut();
                            let auto_pong = packet == Packet::PingResp && auto_pings > 0;
                            if auto_pong {
                                auto_pings -= 1;
                            }
                            if !hidden && !auto_pong {
                                st.inbox.push_back(packet);
                            }
                        }
                        Err(e) => {
                            shared.log(Kind::Event(format!("broker sent a malformed packet: {e}")));
                            let mut st = shared.state.borrow_mut();
                            st.protocol_error = Some(e.to_string());
                            st.monitor.on_received_malformed();
                            drop(st);
                            buf.clear();
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// The CONNACK at the start of `buf`, read in `version`'s form or else the
/// other version's (taken off `buf` once read): a broker that does not know
/// the client's protocol level cannot know which to use (5.0 MQTT-3.1.2-2).
fn connack_any_form(buf: &mut BytesMut, version: Version) -> Result<Option<Packet>, DecodeError> {
    let other = match version {
        Version::V5 => Version::V311,
        _ => Version::V5,
    };
    let bytes = buf.clone().freeze();
    let read = Decoder::new(version)
        .decode_bytes(&bytes)
        .or_else(|e| Decoder::new(other).decode_bytes(&bytes).map_err(|_| e))?;
    Ok(read.map(|(packet, len)| {
        buf.advance(len);
        packet
    }))
}

/// The acknowledgement a well-behaved client sends, if auto-ack is on.
fn auto_reply(shared: &Shared, packet: &Packet) -> Option<Packet> {
    if !shared.state.borrow().auto_ack {
        return None;
    }
    match packet {
        Packet::Publish(p) => match (p.qos, p.packet_id) {
            (QoS::AtLeastOnce, Some(id)) => Some(Packet::PubAck(Ack::new(id))),
            (QoS::ExactlyOnce, Some(id)) => Some(Packet::PubRec(Ack::new(id))),
            _ => None,
        },
        Packet::PubRel(a) => Some(Packet::PubComp(Ack::new(a.packet_id))),
        _ => None,
    }
}
