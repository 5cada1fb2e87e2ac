//! gauntlet's own connections to a real broker: after a run on a shared
//! broker, clear the retained messages it set and end the sessions it may
//! have kept, so the broker is as the run found it; before the runs, read
//! what the broker announces in its 5.0 CONNACK.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use protocol::{ConnAck, Connect, Disconnect, Packet, Properties, Publish, QoS, Version};

use super::isolate::Leftovers;
use crate::net::client::Stream;
use crate::net::framed::Framed;
use crate::net::tls::Tls;

/// Longest the whole clean-up may take.
const DEADLINE: Duration = Duration::from_secs(10);

pub struct Credentials<'a> {
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
}

/// Clears `left` on the broker at `addr`; `id_prefix` names the clean-up
/// client. An error says what could not be cleaned.
pub fn clean(
    addr: SocketAddr,
    tls: Option<&Tls>,
    version: Version,
    left: &Leftovers,
    id_prefix: &str,
    creds: &Credentials<'_>,
) -> Result<(), String> {
    if left.retained.is_empty() && left.client_ids.is_empty() {
        return Ok(());
    }
    within_deadline("clean-up took longer than", async {
        if !left.retained.is_empty() {
            let (mut c, _) =
                Conn::open(addr, tls, version, &format!("{id_prefix}-clean"), creds).await?;
            for (i, topic) in left.retained.iter().enumerate() {
                // An empty retained message deletes the retained one
                // (MQTT-3.3.1-10/11); QoS 1 so its PUBACK says it is done.
                let id = i as u16 + 1;
                c.send(&Packet::Publish(Publish {
                    dup: false,
                    qos: QoS::AtLeastOnce,
                    retain: true,
                    topic: topic.clone(),
                    packet_id: Some(id),
                    properties: Properties::default(),
                    payload: Bytes::new(),
                }))
                .await?;
                c.wait_for(|p| matches!(p, Packet::PubAck(a) if a.packet_id == id))
                    .await?;
            }
            c.close().await;
        }
        for id in &left.client_ids {
            // A clean start discards the session; so does the end of a
            // 5.0 connection with no Session Expiry Interval.
            let (c, _) = Conn::open(addr, tls, version, id, creds).await?;
            c.close().await;
        }
        Ok(())
    })
}

/// The CONNACK the broker at `addr` answers a plain 5.0 CONNECT with
/// (client id `client_id`, clean start, no session kept).
pub fn connack(
    addr: SocketAddr,
    tls: Option<&Tls>,
    client_id: &str,
    creds: &Credentials<'_>,
) -> Result<ConnAck, String> {
    connack_as(addr, tls, Version::V5, client_id, creds)
}

/// [`connack`] on a connection of `version`: whether the broker still
/// answers.
pub fn connack_as(
    addr: SocketAddr,
    tls: Option<&Tls>,
    version: Version,
    client_id: &str,
    creds: &Credentials<'_>,
) -> Result<ConnAck, String> {
    within_deadline("no CONNACK within", async {
        let (c, ack) = Conn::open(addr, tls, version, client_id, creds).await?;
        c.close().await;
        Ok(ack)
    })
}

/// Runs `work` on a runtime of its own, for at most `DEADLINE`; past it,
/// the error is `late` followed by the deadline (`no CONNACK within 10 s`).
fn within_deadline<T>(
    late: &str,
    work: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        tokio::time::timeout(DEADLINE, work)
            .await
            .map_err(|_| format!("{late} {} s", DEADLINE.as_secs()))?
    })
}

struct Conn(Framed<Box<dyn Stream>>);

impl Conn {
    async fn open(
        addr: SocketAddr,
        tls: Option<&Tls>,
        version: Version,
        client_id: &str,
        creds: &Credentials<'_>,
    ) -> Result<(Conn, ConnAck), String> {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("clean-up: cannot connect to {addr}: {e}"))?;
        let stream: Box<dyn Stream> = match tls {
            None => Box::new(tcp),
            Some(t) => Box::new(
                t.connect(tcp)
                    .await
                    .map_err(|e| format!("clean-up: TLS: {e}"))?,
            ),
        };
        let mut c = Conn(Framed::new(stream, version));
        c.send(&Packet::from(Connect {
            version,
            clean_start: true,
            keep_alive: 30,
            properties: Properties::default(),
            client_id: client_id.to_owned(),
            will: None,
            username: creds.username.map(str::to_owned),
            password: creds.password.map(|p| Bytes::from(p.to_owned())),
        }))
        .await?;
        let ack = c.wait_for(|p| matches!(p, Packet::ConnAck(_))).await?;
        match ack {
            Packet::ConnAck(a) if a.reason.0 < 0x80 => Ok((c, a)),
            other => Err(format!(
                "clean-up: the broker refused {client_id:?}: {}",
                record::trace::describe(&other)
            )),
        }
    }

    async fn send(&mut self, p: &Packet) -> Result<(), String> {
        self.0
            .send(p)
            .await
            .map_err(|e| format!("clean-up: write: {e}"))
    }

    async fn wait_for(&mut self, wanted: impl Fn(&Packet) -> bool) -> Result<Packet, String> {
        loop {
            let p = self.0.recv().await.map_err(|e| format!("clean-up: {e}"))?;
            if wanted(&p) {
                return Ok(p);
            }
        }
    }

    async fn close(mut self) {
        let _ = self.send(&Packet::Disconnect(Disconnect::default())).await;
        let _ = self.0.shutdown().await;
    }
}
