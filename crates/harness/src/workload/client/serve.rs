//! An accepted connection's life: publishing as planned within the window,
//! resending on a timer (3.1.1), acknowledging (at once or after a drawn
//! delay), pinging, watching the old connection of a takeover until the
//! broker closes it, and acting on the run's orders.

use std::future::pending;

use super::*;
use crate::net::framed::RecvError;

/// Why a connection ended when the client left it on the run's order.
pub(super) const LEFT: &str = "left";

/// An acknowledgement to send, and the Packet Identifier whose place in
/// the Receive Maximum it frees (PUBACK, PUBCOMP).
struct Reply {
    packet: Packet,
    frees: Option<u16>,
}

/// Runs an accepted connection (and the old one of a takeover, if any)
/// until it is lost, left, or a takeover is ordered; says why it ended,
/// and the takeover ordered (answering, clean) if that is why.
pub(super) async fn serve<'a>(
    client: &'a Rc<Client>,
    conn: &mut Conn<'a>,
    connection: u32,
    silence: Duration,
    mut old: Option<Old<'a>>,
) -> (String, Option<(bool, bool)>) {
    let role = &client.role;
    let ping_every = Duration::from_millis(u64::from(role.keep_alive) * 500);
    // Acknowledgements held back by `ack_delay`, in order, with when each
    // goes out.
    let mut later: VecDeque<(tokio::time::Instant, Reply)> = VecDeque::new();
    let resend = match (role.version, role.resend) {
        (Version::V311, Some(r)) => Some(r),
        _ => None,
    };
    let why = loop {
        if client.stopping.get() || (client.away.get() && !client.awaiting_suback.get()) {
            break leave(client, conn, connection).await;
        }
        if !client.awaiting_suback.get() {
            if let Some(order) = client.takeover.take() {
                if old.is_none() {
                    return (String::new(), Some(order));
                }
            }
        }
        let (next_publish, resend_at) = {
            let m = client.memory.borrow();
            let window = usize::from(role.inflight.min(m.server_receive_maximum));
            let next = role.publish.as_ref().and_then(|(_, plan)| {
                (m.inflight.len() < window)
                    .then(|| plan.get(m.next_planned))
                    .flatten()
                    .map(|p| p.at_ms)
            });
            let resend_at = resend.and_then(|(every, times)| {
                m.inflight
                    .iter()
                    .filter(|o| o.resends < times)
                    .map(|o| o.sent_at + every)
                    .min()
            });
            (next, resend_at)
        };
        let publish_at = next_publish.map(|at| {
            let now = client.now_ms();
            tokio::time::Instant::now() + Duration::from_millis(at.saturating_sub(now))
        });
        let ping_at = conn.last_tx + ping_every;
        let give_up_at = conn.last_rx + silence;
        let later_at = later.front().map(|(at, _)| *at);
        let old_deadline = old.as_ref().map(|o| o.deadline);
        let old_ping = old
            .as_ref()
            .filter(|o| o.answering)
            .map(|o| o.conn.last_tx + ping_every);
        let old_rx = async {
            match old.as_mut() {
                Some(o) => o.conn.recv().await,
                None => pending().await,
            }
        };
        let at_or_never = |t: Option<tokio::time::Instant>| t.unwrap_or(give_up_at);
        tokio::select! {
            r = conn.recv() => match r {
                Ok(p) => match handle(client, connection, p, None) {
                    Ok(Some(reply)) => match (role.ack_delay, &reply.packet) {
                        (Some(range), Packet::PubAck(_) | Packet::PubRec(_)) => {
                            let now = tokio::time::Instant::now();
                            let delay = Duration::from_millis(client.draw(range));
                            // In order: never before an earlier one.
                            let at = (now + delay).max(later.back().map_or(now, |(t, _)| *t));
                            later.push_back((at, reply));
                        }
                        _ => {
                            if let Err(why) = answer(client, conn, connection, reply).await {
                                break why;
                            }
                        }
                    },
                    Ok(None) => {}
                    Err(why) => break why,
                },
                Err(e) => break format!("connection ended: {e}"),
            },
            _ = tokio::time::sleep_until(at_or_never(later_at)), if later_at.is_some() => {
                let now = tokio::time::Instant::now();
                let mut failed = None;
                while later.front().is_some_and(|(at, _)| *at <= now) {
                    let (_, reply) = later.pop_front().expect("checked");
                    if let Err(why) = answer(client, conn, connection, reply).await {
                        failed = Some(why);
                        break;
                    }
                }
                if let Some(why) = failed {
                    break why;
                }
            }
            _ = tokio::time::sleep_until(at_or_never(publish_at)), if publish_at.is_some() => {
                if let Err(e) = publish_next(client, conn).await {
                    break format!("write failed: {e}");
                }
            }
            _ = tokio::time::sleep_until(at_or_never(resend_at)), if resend_at.is_some() => {
                if let Err(e) = resend_due(client, conn, resend).await {
                    break format!("write failed: {e}");
                }
            }
            _ = tokio::time::sleep_until(ping_at) => {
                if conn.send(&Packet::PingReq).await.is_err() {
                    break "write failed".into();
                }
            }
            _ = tokio::time::sleep_until(give_up_at) => {
                break format!("nothing from the broker for {} ms", silence.as_millis());
            }
            _ = client.wake.notified() => {}
            r = old_rx => {
                if let Some(o) = old.as_mut() {
                    if on_old(client, o, r).await {
                        superseded(client, old.take(), true);
                    }
                }
            }
            _ = tokio::time::sleep_until(at_or_never(old_deadline)), if old_deadline.is_some() => {
                superseded(client, old.take(), false);
            }
            _ = tokio::time::sleep_until(at_or_never(old_ping)), if old_ping.is_some() => {
                if let Some(o) = old.as_mut() {
                    if o.conn.send(&Packet::PingReq).await.is_err() {
                        superseded(client, old.take(), true);
                    }
                }
            }
        }
    };
    if let Some(o) = old {
        client.superseding.set(false);
        client.lost(
            o.connection,
            "abandoned: the connection that took it over ended first",
        );
    }
    (why, None)
}

/// The old connection of a takeover ended (`closed` by the broker) or
/// the client stopped waiting for it.
fn superseded(client: &Client, old: Option<Old<'_>>, closed: bool) {
    let Some(o) = old else { return };
    client.superseding.set(false);
    client.record(Event::Superseded {
        at: client.now_ms(),
        client: client.role.name.clone(),
        connection: o.connection,
        closed,
        disconnect: o.disconnect,
    });
}

/// Acts on what came on the old connection of a takeover; true when it
/// has ended.
async fn on_old(client: &Rc<Client>, o: &mut Old<'_>, r: Result<Packet, RecvError>) -> bool {
    match r {
        Ok(Packet::Disconnect(d)) => {
            o.disconnect.get_or_insert(d.reason.0);
            false
        }
        Ok(p) if o.answering => match handle(client, o.connection, p, o.own_pubrel.as_mut()) {
            Ok(Some(reply)) => answer(client, &mut o.conn, o.connection, reply)
                .await
                .is_err(),
            Ok(None) => false,
            Err(_) => true,
        },
        Ok(_) => false,
        Err(_) => true,
    }
}

/// Sends an acknowledgement; one that frees a place in the Receive
/// Maximum goes into the history.
async fn answer(
    client: &Rc<Client>,
    conn: &mut Conn<'_>,
    connection: u32,
    reply: Reply,
) -> Result<(), String> {
    conn.send(&reply.packet)
        .await
        .map_err(|e| format!("write failed: {e}"))?;
    if let Some(packet_id) = reply.frees {
        client.record(Event::Freed {
            at: client.now_ms(),
            client: client.role.name.clone(),
            connection,
            packet_id,
        });
    }
    Ok(())
}

async fn publish_next(client: &Rc<Client>, conn: &mut Conn<'_>) -> std::io::Result<()> {
    let Some((topic, plan)) = &client.role.publish else {
        return Ok(());
    };
    let planned = {
        let mut m = client.memory.borrow_mut();
        let Some(p) = plan.get(m.next_planned).cloned() else {
            return Ok(());
        };
        m.next_planned += 1;
        p
    };
    let id = MsgId {
        publisher: client.role.name.clone(),
        seq: planned.seq,
        will: false,
    };
    let mut payload = id.payload();
    if payload.len() + 1 < planned.size {
        payload.push('|');
        payload.extend(std::iter::repeat_n('x', planned.size - payload.len()));
    }
    let payload = Bytes::from(payload);
    let qos = QoS::from_u8(planned.qos).unwrap_or(QoS::AtMostOnce);
    let packet_id = (qos != QoS::AtMostOnce).then(|| client.next_packet_id());
    let retain = client.role.retain;
    let expiry = planned
        .expiry
        .filter(|_| client.role.version == Version::V5);
    client.record(Event::Published {
        at: client.now_ms(),
        id: id.clone(),
        topic: topic.clone(),
        qos: planned.qos,
        retain,
        expiry,
    });
    if let Some(packet_id) = packet_id {
        client.memory.borrow_mut().inflight.push_back(Outgoing {
            id,
            packet_id,
            qos,
            topic: topic.clone(),
            retain,
            payload: payload.clone(),
            expiry,
            released: false,
            sent_at: tokio::time::Instant::now(),
            resends: 0,
        });
    }
    let mut properties = Properties::default();
    properties.message_expiry_interval = expiry;
    conn.send(&Packet::Publish(Publish {
        dup: false,
        qos,
        retain,
        topic: client.role.naming.topic(topic),
        packet_id,
        properties,
        payload,
    }))
    .await
}

/// 3.1.1: sends again, on this connection, what has waited `every` for its
/// acknowledgement (at most `times` times each).
async fn resend_due(
    client: &Rc<Client>,
    conn: &mut Conn<'_>,
    resend: Option<(Duration, u32)>,
) -> std::io::Result<()> {
    let Some((every, times)) = resend else {
        return Ok(());
    };
    let now = tokio::time::Instant::now();
    let due: Vec<Packet> = {
        let mut m = client.memory.borrow_mut();
        m.inflight
            .iter_mut()
            .filter(|o| o.resends < times && o.sent_at + every <= now)
            .map(|o| {
                o.resends += 1;
                o.sent_at = now;
                o.again(&client.role.naming)
            })
            .collect()
    };
    for p in &due {
        conn.send(p).await?;
    }
    Ok(())
}

/// DISCONNECT and close: the end of a normal run on a real broker, or an
/// absence the run ordered.
async fn leave(client: &Rc<Client>, conn: &mut Conn<'_>, connection: u32) -> String {
    let sent = conn.send(&Packet::Disconnect(Disconnect::default())).await;
    let _ = conn.shutdown().await;
    if client.stopping.get() {
        client.stopped.set(true);
    }
    client.connected.set(false);
    if sent.is_ok() {
        client.record(Event::Disconnected {
            at: client.now_ms(),
            client: client.role.name.clone(),
            connection,
        });
        LEFT.into()
    } else {
        "write failed".into()
    }
}

/// Acts on one packet from the broker on `connection`; the reply to send,
/// if any. An error ends the connection.
/// `own_pubrel`: the QoS 2 packet ids awaiting PUBREL of a session other
/// than the client's current one (the old connection of a clean takeover).
fn handle(
    client: &Rc<Client>,
    connection: u32,
    p: Packet,
    mut own_pubrel: Option<&mut BTreeSet<u16>>,
) -> Result<Option<Reply>, String> {
    let at = client.now_ms();
    let name = &client.role.name;
    let reply = |packet: Packet, frees: Option<u16>| Some(Reply { packet, frees });
    let out = match p {
        Packet::Publish(p) => {
            let id = MsgId::parse(&p.payload);
            let repeat = match (p.qos, p.packet_id) {
                // Once per packet id until PUBREL: the broker resending
                // a QoS 2 PUBLISH is the same message (method B).
                (QoS::ExactlyOnce, Some(pid)) => match own_pubrel.as_deref_mut() {
                    Some(own) => !own.insert(pid),
                    None => {
                        let mut m = client.memory.borrow_mut();
                        // A resend carries DUP 1 (MQTT-3.3.1-1): DUP 0 with
                        // an id of a session that may have ended is a new
                        // message of the session now present.
                        if !p.dup && m.unsure_pubrel.remove(&pid) {
                            m.awaiting_pubrel.insert(pid);
                            false
                        } else {
                            m.unsure_pubrel.contains(&pid) || !m.awaiting_pubrel.insert(pid)
                        }
                    }
                },
                _ => false,
            };
            if let Some(id) = id {
                client.record(Event::Delivered {
                    at,
                    client: name.clone(),
                    id,
                    topic: client.role.naming.unprefixed(&p.topic).to_owned(),
                    qos: p.qos as u8,
                    dup: p.dup,
                    retain: p.retain,
                    connection,
                    packet_id: p.packet_id,
                    expiry: p.properties.message_expiry_interval,
                    repeat,
                });
            }
            match (p.qos, p.packet_id) {
                (QoS::AtLeastOnce, Some(pid)) => reply(Packet::PubAck(Ack::new(pid)), Some(pid)),
                (QoS::ExactlyOnce, Some(pid)) => reply(Packet::PubRec(Ack::new(pid)), None),
                _ => None,
            }
        }
        Packet::PubRel(a) => {
            match own_pubrel {
                Some(own) => own.remove(&a.packet_id),
                None => {
                    let mut m = client.memory.borrow_mut();
                    m.unsure_pubrel.remove(&a.packet_id) | m.awaiting_pubrel.remove(&a.packet_id)
                }
            };
            reply(Packet::PubComp(Ack::new(a.packet_id)), Some(a.packet_id))
        }
        Packet::PubAck(a) => {
            let mut m = client.memory.borrow_mut();
            if let Some(i) = m
                .inflight
                .iter()
                .position(|o| o.packet_id == a.packet_id && o.qos == QoS::AtLeastOnce)
            {
                let o = m.inflight.remove(i).expect("position is valid");
                drop(m);
                if a.reason.0 < 0x80 {
                    client.record(Event::Acked { at, id: o.id });
                }
            }
            None
        }
        Packet::PubRec(a) => {
            let mut m = client.memory.borrow_mut();
            let found = m
                .inflight
                .iter()
                .position(|o| o.packet_id == a.packet_id && o.qos == QoS::ExactlyOnce);
            match found {
                Some(i) if a.reason.0 >= 0x80 => {
                    m.inflight.remove(i);
                    None
                }
                Some(i) => {
                    let first = !m.inflight[i].released;
                    m.inflight[i].released = true;
                    m.inflight[i].sent_at = tokio::time::Instant::now();
                    let id = m.inflight[i].id.clone();
                    drop(m);
                    if first {
                        client.record(Event::Acked { at, id });
                    }
                    reply(Packet::PubRel(Ack::new(a.packet_id)), None)
                }
                None => None,
            }
        }
        Packet::PubComp(a) => {
            let mut m = client.memory.borrow_mut();
            if let Some(i) = m
                .inflight
                .iter()
                .position(|o| o.packet_id == a.packet_id && o.released)
            {
                let o = m.inflight.remove(i).expect("position is valid");
                drop(m);
                client.record(Event::Completed { at, id: o.id });
            }
            None
        }
        Packet::SubAck(a) => {
            client.awaiting_suback.set(false);
            for (i, (filter, _)) in client.role.subscribe.iter().enumerate() {
                let code = a.reasons.get(i).map_or(0x80, |r| r.0);
                client.record(Event::Subscribed {
                    at,
                    client: name.clone(),
                    filter: filter.clone(),
                    granted_qos: (code <= 2).then_some(code),
                });
            }
            None
        }
        Packet::Disconnect(d) => return Err(format!("DISCONNECT {:?} from the broker", d.reason)),
        _ => None,
    };
    Ok(out)
}
