//! A fault-injecting TCP proxy: put between one client and a real broker, it
//! forwards bytes both ways and, on command, delays them (latency and
//! jitter), holds them (stall/resume), drops them silently (cut — both ends
//! see a live but mute connection; a direction that lost bytes stays mute
//! after the heal, since a stream cannot skip a gap: as in the simulator,
//! only keep alive ends it), resets the connection (RST to both ends), or
//! limits bandwidth. Order within a connection is always kept, as
//! TCP keeps it. Jitter comes from a seed, so the schedule is reproducible
//! even if the real network's timing is not.
//!
//! It understands MQTT as far as a bystander must: it cuts each direction
//! into packets (any version, malformed ones whole), moves them one by
//! one, logs what became of each (passed, held, lost to a cut, reset:
//! [`record::carried`]), and reports each to the run's packet triggers
//! the moment it has delivered it, so a fault "right after the 3rd PUBREC
//! s1 receives" falls between that packet and the next. Faults may then
//! land at a stage of a QoS flow rather than at a wall-clock instant.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::net::loss::SplitMix64;
use crate::net::splitter::{Frame, Splitter};
use crate::net::tls::Tls;
use crate::net::tripwire::{LinkFault, Tripwires};
use protocol::Version;
use record::carried::{Carried, Fate, Toward};

/// Applies a link fault a packet fired, to whichever client's proxy it
/// names.
pub type ApplyLink = Arc<dyn Fn(&LinkFault) + Send + Sync>;

/// One end's halves: plain TCP, or TLS to the broker.
type Rd = Box<dyn AsyncRead + Send + Unpin>;
type Wr = Box<dyn AsyncWrite + Send + Unpin>;

/// The faults in force on a proxy's connections.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Faults {
    /// Per-chunk delay, picked uniformly in `[min, max]`.
    pub latency: (Duration, Duration),
    pub stalled: bool,
    pub cut: bool,
    /// Bytes per second in each direction; `None` is unlimited.
    pub bandwidth: Option<u64>,
}

struct Shared {
    faults: watch::Sender<Faults>,
    /// Bumped by `reset`: every connection opened before it is reset.
    resets: watch::Sender<u64>,
    rng: Mutex<SplitMix64>,
    /// The client this proxy serves, as the log and the triggers name it.
    client: String,
    /// Times in the log count from here.
    origin: Instant,
    log: Mutex<Vec<Carried>>,
    /// Connections opened so far.
    conns: Mutex<u32>,
    watch: Mutex<Option<(Tripwires, ApplyLink)>>,
    /// `mqtts://`: the proxy speaks TLS to the broker and plain MQTT to
    /// its client, so that it sees (and logs, and fires on) the packets.
    tls: Option<Tls>,
}

impl Shared {
    fn ms(&self) -> u64 {
        self.origin.elapsed().as_millis() as u64
    }

    fn settle(&self, entry: usize, fate: Fate) {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = log.get_mut(entry) {
            c.fate = fate;
        }
    }
}

/// A handle on a proxy's faults that a packet trigger on another client's
/// link can use.
#[derive(Clone)]
pub struct Control(Arc<Shared>);

impl Control {
    pub fn cut(&self) {
        self.0.faults.send_modify(|f| f.cut = true);
    }

    pub fn stall(&self) {
        self.0.faults.send_modify(|f| f.stalled = true);
    }
}

/// Controls a running proxy. Dropping it stops accepting new connections;
/// connections already open go on.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Proxy {
    /// Listens on a free loopback port and forwards each connection to
    /// `upstream`.
    pub async fn start(upstream: SocketAddr, seed: u64) -> io::Result<Proxy> {
        Proxy::start_for(upstream, seed, "client", std::time::Instant::now(), None).await
    }

    /// The same for the client `client`, its log's times counted from
    /// `origin`; with `tls`, the client connects in plain and the proxy
    /// wraps the broker side in TLS.
    pub async fn start_for(
        upstream: SocketAddr,
        seed: u64,
        client: &str,
        origin: std::time::Instant,
        tls: Option<Tls>,
    ) -> io::Result<Proxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            faults: watch::Sender::new(Faults::default()),
            resets: watch::Sender::new(0),
            rng: Mutex::new(SplitMix64::new(seed)),
            client: client.to_owned(),
            origin: Instant::from_std(origin),
            log: Mutex::default(),
            conns: Mutex::new(0),
            watch: Mutex::new(None),
            tls,
        });
        let accept_shared = shared.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    // Out of descriptors or similar: try again shortly.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let shared = accept_shared.clone();
                tokio::spawn(async move {
                    match connect(upstream, shared.tls.as_ref()).await {
                        Ok(server) => serve(client, server, shared).await,
                        Err(e) => {
                            tracing::debug!(error = %e, "proxy: upstream refused; resetting the client");
                            let _ =
                                socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO));
                        }
                    }
                });
            }
        });
        Ok(Proxy {
            addr,
            shared,
            accept,
        })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn faults(&self) -> Faults {
        self.shared.faults.borrow().clone()
    }

    fn update(&self, f: impl FnOnce(&mut Faults)) {
        self.shared.faults.send_modify(f);
    }

    pub fn set_latency(&self, min: Duration, max: Duration) {
        self.update(|f| f.latency = (min, max.max(min)));
    }

    pub fn stall(&self) {
        self.update(|f| f.stalled = true);
    }

    pub fn resume(&self) {
        self.update(|f| f.stalled = false);
    }

    /// Bytes in flight and from now on are dropped silently, both ways; a
    /// direction of a connection that lost bytes drops everything after
    /// too, healed or not (new connections after the heal pass).
    pub fn cut(&self) {
        self.update(|f| f.cut = true);
    }

    pub fn heal(&self) {
        self.update(|f| f.cut = false);
    }

    pub fn set_bandwidth(&self, bytes_per_second: Option<u64>) {
        self.update(|f| f.bandwidth = bytes_per_second.filter(|&b| b > 0));
    }

    /// Every open connection is reset (RST to the client and the broker).
    pub fn reset(&self) {
        self.shared.resets.send_modify(|n| *n += 1);
    }

    pub fn control(&self) -> Control {
        Control(self.shared.clone())
    }

    /// From now on every packet delivered either way is reported to
    /// `tripwires`; the link faults they fire are applied with `apply`
    /// before the next packet moves.
    pub fn watch(&self, tripwires: Tripwires, apply: ApplyLink) {
        *self.shared.watch.lock().unwrap_or_else(|e| e.into_inner()) = Some((tripwires, apply));
    }

    /// What became of every packet so far, in the order they were read.
    pub fn log(&self) -> Vec<Carried> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// One client connection: two one-way pipes. An end that closes is passed
/// on as a close (FIN); a reset resets both ends (RST), never a FIN first.
/// The broker's end: TCP, wrapped in TLS for `mqtts://`, with the socket
/// kept at hand for a reset.
struct Upstream {
    rd: Rd,
    wr: Wr,
    socket: Socket,
}

async fn connect(upstream: SocketAddr, tls: Option<&Tls>) -> io::Result<Upstream> {
    let tcp = TcpStream::connect(upstream).await?;
    let _ = tcp.set_nodelay(true);
    let socket = Socket::of(&tcp);
    let (rd, wr): (Rd, Wr) = match tls {
        None => {
            let (rd, wr) = tokio::io::split(tcp);
            (Box::new(rd), Box::new(wr))
        }
        Some(tls) => {
            let (rd, wr) = tokio::io::split(tls.connect(tcp).await?);
            (Box::new(rd), Box::new(wr))
        }
    };
    Ok(Upstream { rd, wr, socket })
}

/// A connection's socket, for setting linger before a reset: the stream
/// itself lives inside its halves (and TLS).
#[derive(Clone, Copy)]
struct Socket(#[cfg(unix)] std::os::fd::RawFd);

impl Socket {
    fn of(tcp: &TcpStream) -> Socket {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            Socket(tcp.as_raw_fd())
        }
        #[cfg(not(unix))]
        {
            let _ = tcp;
            Socket()
        }
    }

    /// Linger 0: the close that follows sends RST instead of FIN. Called
    /// while the halves that own the socket are alive.
    fn reset_on_close(self) {
        #[cfg(unix)]
        {
            // SAFETY: the descriptor belongs to a stream whose halves the
            // caller still holds, so it is open for this call.
            let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.0) };
            let _ = socket2::SockRef::from(&fd).set_linger(Some(Duration::ZERO));
        }
    }
}

/// One client connection: two one-way pipes. An end that closes is passed
/// on as a close (FIN); a reset resets both ends (RST), never a FIN first.
async fn serve(client: TcpStream, server: Upstream, shared: Arc<Shared>) {
    let _ = client.set_nodelay(true);
    let client_socket = Socket::of(&client);
    let (client_rd, client_wr) = tokio::io::split(client);
    let conn = {
        let mut n = shared.conns.lock().unwrap_or_else(|e| e.into_inner());
        *n += 1;
        *n
    };
    // The protocol level, from the CONNECT (0 until it passes).
    let level = Arc::new(AtomicU8::new(0));
    let up_way = Way {
        conn,
        toward: Toward::Broker,
        level: level.clone(),
    };
    let down_way = Way {
        conn,
        toward: Toward::Client,
        level,
    };
    let (up, down) = tokio::join!(
        pipe(Box::new(client_rd), server.wr, shared.clone(), up_way),
        pipe(server.rd, Box::new(client_wr), shared, down_way)
    );
    if up.reset || down.reset {
        client_socket.reset_on_close();
        server.socket.reset_on_close();
    }
    // The halves close their sockets as they drop (split halves never
    // shut down on their own, so a reset is a bare RST).
    drop((up, down));
}

/// One direction of one connection.
#[derive(Clone)]
struct Way {
    conn: u32,
    toward: Toward,
    level: Arc<AtomicU8>,
}

impl Way {
    fn version(&self) -> Version {
        match self.level.load(Ordering::Relaxed) {
            4 => Version::V311,
            _ => Version::V5,
        }
    }
}

/// Bytes on their way, when they may be delivered, and the packet they
/// complete (with its entry in the log), if they do.
struct Chunk {
    bytes: Bytes,
    frame: Option<(Frame, usize)>,
    at: Instant,
}

/// A read cut at the ends of the packets it completes, each piece with
/// its packet; bytes of a packet not yet whole go on at once, unlabelled
/// (held back, they would change what a broker sees of a packet cut
/// short).
fn pieces(splitter: &mut Splitter, data: &[u8]) -> Vec<(Bytes, Option<Frame>)> {
    let mut carried = splitter.pending();
    let mut offset = 0;
    let mut out = Vec::new();
    for frame in splitter.push(data) {
        let take = frame
            .bytes
            .len()
            .saturating_sub(carried)
            .min(data.len() - offset);
        carried = 0;
        out.push((
            Bytes::copy_from_slice(&data[offset..offset + take]),
            Some(frame),
        ));
        offset += take;
    }
    if offset < data.len() {
        out.push((Bytes::copy_from_slice(&data[offset..]), None));
    }
    out
}

struct PipeEnd {
    _from: Rd,
    _to: Option<Wr>,
    reset: bool,
}

/// Forwards `from` to `to` with the faults in force, until the source ends
/// (then the close is passed on) or a reset.
async fn pipe(mut from: Rd, to: Wr, shared: Arc<Shared>, way: Way) -> PipeEnd {
    let mut faults = shared.faults.subscribe();
    let mut resets = shared.resets.subscribe();
    resets.mark_unchanged();
    // Packets with the time they may be delivered, in order; `None` asks
    // the writer to stop and hand the write half back.
    let (tx, rx) = mpsc::unbounded_channel::<Option<Chunk>>();
    // This direction lost bytes to a cut: nothing after them can pass.
    let gap = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(write_loop(to, rx, shared.clone(), gap.clone(), way.clone()));
    let mut buf = vec![0u8; 16 * 1024];
    let mut splitter = Splitter::default();
    let mut last_at = Instant::now();
    let reset = loop {
        tokio::select! {
            r = from.read(&mut buf) => match r {
                Ok(0) | Err(_) => break false,
                Ok(n) => {
                    for (bytes, frame) in pieces(&mut splitter, &buf[..n]) {
                        let frame = frame.map(|frame| {
                            if way.toward == Toward::Broker
                                && frame.packet == Some(protocol::PacketType::Connect)
                            {
                                note_level(&way, &frame);
                            }
                            let entry = log_sent(&shared, &way, &frame);
                            (frame, entry)
                        });
                        let f = faults.borrow_and_update().clone();
                        if f.cut || gap.load(Ordering::Relaxed) {
                            gap.store(true, Ordering::Relaxed);
                            if let Some((_, entry)) = frame {
                                shared.settle(entry, Fate::Lost);
                            }
                            continue;
                        }
                        let delay = pick_delay(&shared, f.latency);
                        // Never before an earlier piece: TCP keeps order.
                        let at = (Instant::now() + delay).max(last_at);
                        last_at = at;
                        let _ = tx.send(Some(Chunk { bytes, frame, at }));
                    }
                }
            },
            _ = resets.changed() => break true,
        }
    };
    let _ = tx.send(None);
    let to = writer.await.ok().map(|(to, _)| to);
    let mut to = to;
    if !reset {
        // The source closed: pass the close on.
        if let Some(w) = to.as_mut() {
            let _ = w.shutdown().await;
        }
    }
    PipeEnd {
        _from: from,
        _to: to,
        reset,
    }
}

fn pick_delay(shared: &Shared, (min, max): (Duration, Duration)) -> Duration {
    let span = max.saturating_sub(min).as_micros() as u64;
    if span == 0 {
        return min;
    }
    let mut rng = shared.rng.lock().unwrap_or_else(|e| e.into_inner());
    min + Duration::from_micros(rng.next_u64() % (span + 1))
}

/// Delivers chunks at their time, holding them while stalled and dropping
/// them while cut (and after, once this direction has a gap). Stops at `None` (or a reset) and returns the write half.
async fn write_loop(
    mut to: Wr,
    mut rx: mpsc::UnboundedReceiver<Option<Chunk>>,
    shared: Arc<Shared>,
    gap: Arc<AtomicBool>,
    way: Way,
) -> (Wr, ()) {
    let mut faults = shared.faults.subscribe();
    let mut resets = shared.resets.subscribe();
    resets.mark_unchanged();
    while let Some(Some(Chunk { bytes, frame, at })) = rx.recv().await {
        let mut held = false;
        let deliver = async {
            tokio::time::sleep_until(at).await;
            loop {
                if !faults.borrow_and_update().stalled {
                    break;
                }
                held = true;
                if faults.changed().await.is_err() {
                    break;
                }
            }
        };
        tokio::select! {
            () = deliver => {}
            _ = resets.changed() => {
                settle(&shared, &frame, Fate::Reset);
                reset_queued(&shared, &mut rx);
                return (to, ());
            }
        }
        let f = faults.borrow().clone();
        if f.cut || gap.load(Ordering::Relaxed) {
            gap.store(true, Ordering::Relaxed);
            settle(&shared, &frame, Fate::Lost);
            continue;
        }
        let chunk = bytes;
        let written = match f.bandwidth {
            None => to.write_all(&chunk).await,
            // Each slice waits for the time the link needs to carry it.
            Some(rate) => {
                let slice = (rate / 10).clamp(1, 16 * 1024) as usize;
                let mut result = Ok(());
                for part in chunk.chunks(slice) {
                    let micros = part.len() as u64 * 1_000_000 / rate;
                    tokio::time::sleep(Duration::from_micros(micros)).await;
                    result = to.write_all(part).await;
                    if result.is_err() {
                        break;
                    }
                }
                result
            }
        };
        if written.is_err() {
            settle(&shared, &frame, Fate::Reset);
            reset_queued(&shared, &mut rx);
            break;
        }
        if let Some((frame, entry)) = &frame {
            let at_ms = shared.ms();
            let fate = if held {
                Fate::Held { at_ms }
            } else {
                Fate::Passed { at_ms }
            };
            shared.settle(*entry, fate);
            delivered(&shared, &way, frame, at_ms, *entry);
        }
    }
    (to, ())
}

fn settle(shared: &Shared, frame: &Option<(Frame, usize)>, fate: Fate) {
    if let Some((_, entry)) = frame {
        shared.settle(*entry, fate);
    }
}

/// The packets still queued when the connection went down.
fn reset_queued(shared: &Shared, rx: &mut mpsc::UnboundedReceiver<Option<Chunk>>) {
    while let Ok(Some(c)) = rx.try_recv() {
        settle(shared, &c.frame, Fate::Reset);
    }
}

fn note_level(way: &Way, frame: &Frame) {
    // The protocol level follows the Remaining Length and the six bytes
    // of the protocol name.
    let b = &frame.bytes;
    let len_bytes = b
        .iter()
        .skip(1)
        .take(4)
        .take_while(|x| *x & 0x80 != 0)
        .count()
        + 1;
    if let Some(&level) = b.get(1 + len_bytes + 6) {
        way.level.store(level, Ordering::Relaxed);
    }
}

/// Logs a packet as it leaves its sender (read by the proxy); returns its
/// entry.
fn log_sent(shared: &Shared, way: &Way, frame: &Frame) -> usize {
    let label = frame.label(way.version());
    let mut log = shared.log.lock().unwrap_or_else(|e| e.into_inner());
    log.push(Carried {
        client: shared.client.clone(),
        conn: way.conn,
        toward: way.toward,
        label,
        sent_ms: shared.ms(),
        fate: Fate::Pending,
        fired: None,
    });
    log.len() - 1
}

/// A packet reached the other end: the triggers hear of it, and a link
/// fault it fires is in force before the next packet moves.
fn delivered(shared: &Shared, way: &Way, frame: &Frame, at_ms: u64, entry: usize) {
    let watch = shared
        .watch
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let Some((tripwires, apply)) = watch else {
        return;
    };
    let sent = way.toward == Toward::Broker;
    let version = way.version();
    let arrival = tripwires.arrived(&shared.client, sent, frame.packet, at_ms, || {
        frame.label(version)
    });
    for f in &arrival.link {
        apply(f);
    }
    if !arrival.fired.is_empty() {
        let mut log = shared.log.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = log.get_mut(entry) {
            c.fired = Some(arrival.fired.join("; "));
        }
    }
}
