//! The end-of-run reader of retained messages: a fresh client subscribes
//! to everything the workload may publish and takes what each topic
//! retains (for `retained_latest`). Its connection goes through the wire
//! monitor like every workload client's.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use protocol::{
    Ack, Disconnect, Packet, Properties, QoS, Subscribe, Subscription, SubscriptionOptions, Version,
};

use super::client::Naming;
use super::wire::{Conn, Wire};
use crate::net::client::Connector;
use record::history::MsgId;

/// Each topic's retained message, as a fresh client reads it.
pub type Retained = BTreeMap<String, Option<MsgId>>;

/// Where the end-of-run reading of retained messages lands: its result, or
/// why it could not be taken.
pub type RetainedReading = Rc<RefCell<Option<Result<Retained, String>>>>;

/// The client name of the end-of-run reader.
pub const PROBE: &str = "probe";

/// The end-of-run reader: who it is and how it reaches the broker.
pub struct Probe {
    pub connector: Connector,
    pub version: Version,
    pub naming: Naming,
    pub wire: Wire,
}

/// Reads what the broker retains at the end of a run, and stops.
pub async fn probe_retained(probe: Rc<Probe>, out: RetainedReading) -> turmoil::Result {
    let reading = read_retained(&probe).await;
    *out.borrow_mut() = Some(reading);
    Ok(())
}

/// A new client (Clean Start, nothing kept) subscribes to everything the
/// workload may publish (`#` under the prefix) and takes every PUBLISH
/// with RETAIN set, until a second passes without one after the SUBACK
/// (MQTT-3.3.1-6: retained messages go to a new subscription).
async fn read_retained(probe: &Probe) -> Result<Retained, String> {
    let wait = Duration::from_secs(5);
    let stream = probe
        .connector
        .connect()
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let mut conn = Conn::new(stream, probe.version, &probe.wire, &probe.connector);
    let io = |e: &dyn std::fmt::Display| format!("connection ended: {e}");
    let connect = probe.naming.connect(probe.version, PROBE);
    conn.send(&Packet::from(connect))
        .await
        .map_err(|e| io(&e))?;
    match conn.recv_within(wait).await {
        Some(Ok(Packet::ConnAck(a))) if a.reason.0 < 0x80 => {}
        Some(Ok(Packet::ConnAck(a))) => return Err(format!("CONNACK refused: {:?}", a.reason)),
        Some(Ok(p)) => return Err(format!("{} instead of CONNACK", p.packet_type())),
        Some(Err(e)) => return Err(io(&e)),
        None => return Err(format!("no CONNACK within {} s", wait.as_secs())),
    }
    let filter = probe.naming.topic("#");
    let subscribe = Packet::Subscribe(Subscribe {
        packet_id: 1,
        properties: Properties::default(),
        filters: vec![Subscription {
            filter: filter.clone(),
            options: SubscriptionOptions {
                qos: QoS::AtLeastOnce,
                ..SubscriptionOptions::default()
            },
        }],
    });
    conn.send(&subscribe).await.map_err(|e| io(&e))?;
    let mut subacked = false;
    let mut got = Retained::new();
    loop {
        let limit = if subacked {
            Duration::from_secs(1)
        } else {
            wait
        };
        let p = match conn.recv_within(limit).await {
            None if subacked => break,
            None => return Err(format!("no SUBACK within {} s", wait.as_secs())),
            Some(Err(e)) => return Err(io(&e)),
            Some(Ok(p)) => p,
        };
        match p {
            Packet::SubAck(a) => {
                if a.reasons.first().is_none_or(|r| r.0 >= 0x80) {
                    return Err(format!("SUBACK refused {filter}: {:?}", a.reasons));
                }
                subacked = true;
            }
            Packet::Publish(p) => {
                if let Some(pid) = p.packet_id {
                    conn.send(&Packet::PubAck(Ack::new(pid)))
                        .await
                        .map_err(|e| io(&e))?;
                }
                if p.retain {
                    if let Some(id) = MsgId::parse(&p.payload) {
                        let topic = probe.naming.unprefixed(&p.topic).to_owned();
                        got.insert(topic, Some(id));
                    }
                }
            }
            _ => {}
        }
    }
    let _ = conn.send(&Packet::Disconnect(Disconnect::default())).await;
    let _ = conn.shutdown().await;
    Ok(got)
}
