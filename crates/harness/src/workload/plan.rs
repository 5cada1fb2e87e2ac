//! What a workload's seed decides before anything runs: each client's
//! part and knobs ([`roles`]), each publisher's messages ([`plans`]) and
//! the fault schedule ([`schedule`]), each from a random stream of its own
//! so that changing one leaves the others as they were.

use std::time::Duration;

use super::client::{Naming, Planned, Role};
use super::run::WILL_WATCHER;
use crate::net::loss::SplitMix64;
use protocol::PacketType;
use record::workload::{ScheduledFault, Trigger};
use scenario::workload::{Faults, Sessions, Workload};
use scenario::VersionName;

fn uniform(rng: &mut SplitMix64, min: u64, max: u64) -> u64 {
    min + rng.next_u64() % (max.saturating_sub(min) + 1)
}

/// Every client name, publishers first.
pub fn clients(w: &Workload) -> Vec<String> {
    let mut all = w.publisher_names();
    all.extend(w.subscriber_names());
    if w.workload.wills {
        all.push(WILL_WATCHER.into());
    }
    all
}

/// The fault schedule of `seed`: a fault every `every`, over `duration`
/// (or the fixed list the workload gives).
pub fn schedule(w: &Workload, seed: u64) -> Vec<ScheduledFault> {
    let spec = match &w.faults {
        None => return Vec::new(),
        Some(Faults::Fixed(list)) => {
            return list
                .iter()
                .map(|f| ScheduledFault {
                    at_ms: f.at.millis(),
                    kind: f.fault,
                    target: f.target.clone(),
                    length_ms: f.length.map_or(0, |d| d.millis()),
                    after: f.after.as_ref().and_then(|a| {
                        let (packet, sent) = a.packet()?;
                        Some(Trigger {
                            by: a.by.clone().or_else(|| f.target.clone())?,
                            sent,
                            packet,
                            count: a.count.max(1),
                        })
                    }),
                })
                .collect()
        }
        Some(Faults::Random(spec)) => spec,
    };
    let mut rng = SplitMix64::new(seed ^ 0x5EED_FA17_0000_0001);
    // A stream of its own, so that a schedule without packet triggers is
    // the one it always was.
    let mut triggers = SplitMix64::new(seed ^ 0x7216_6E25_0000_0007);
    let targets = clients(w);
    let end = w.duration.millis();
    let mut at = 0;
    let mut out = Vec::new();
    loop {
        at += uniform(&mut rng, spec.every.min.millis(), spec.every.max.millis());
        if at >= end {
            return out;
        }
        let kind = spec.pick[(rng.next_u64() % spec.pick.len() as u64) as usize];
        let target = (!kind.on_broker())
            .then(|| targets[(rng.next_u64() % targets.len() as u64) as usize].clone());
        let length_ms = uniform(&mut rng, spec.length.min.millis(), spec.length.max.millis());
        let after = spec.on_packets.as_ref().and_then(|on| {
            if triggers.next_f64() >= on.share.0 {
                return None;
            }
            let by = target.clone().unwrap_or_else(|| {
                targets[(triggers.next_u64() % targets.len() as u64) as usize].clone()
            });
            let mut flows = flow_packets(w, &by);
            if let Some(only) = &on.packets {
                flows.retain(|(p, _)| only.iter().any(|o| o.0 == *p));
            }
            let (packet, sent) =
                *flows.get((triggers.next_u64() % flows.len().max(1) as u64) as usize)?;
            let count = uniform(
                &mut triggers,
                u64::from(on.count.min),
                u64::from(on.count.max),
            );
            Some(Trigger {
                by,
                sent,
                packet,
                count: count.max(1) as u32,
            })
        });
        out.push(ScheduledFault {
            at_ms: at,
            kind,
            target,
            length_ms,
            after,
        });
    }
}

/// The packets of the QoS flows `client` takes part in, each with whether
/// the client sends it: a publisher's flows at the QoS it publishes, a
/// subscriber's at the QoS it may receive.
fn flow_packets(w: &Workload, client: &str) -> Vec<(PacketType, bool)> {
    let t = &w.workload;
    let publishing = w.publisher_names().iter().any(|p| p == client);
    let qos: Vec<u8> = if publishing {
        t.qos.clone()
    } else if client == WILL_WATCHER {
        vec![1]
    } else {
        // A delivery comes at the lower of the publish and granted QoS.
        t.qos
            .iter()
            .flat_map(|&q| t.subscribe_qos.0.iter().map(move |&g| q.min(g)))
            .collect()
    };
    let mut out = vec![(PacketType::Publish, publishing)];
    let sub = !publishing;
    if qos.contains(&1) {
        out.push((PacketType::PubAck, sub));
    }
    if qos.contains(&2) {
        out.push((PacketType::PubRec, sub));
        out.push((PacketType::PubRel, publishing));
        out.push((PacketType::PubComp, sub));
    }
    out
}

/// Each publisher's messages: spread evenly over the duration (or in
/// bursts, each at one instant), QoS and size drawn from the seed (a
/// stream of its own, so a changed fault schedule leaves the traffic as it
/// was), and in 5.0 a Message Expiry Interval for some (a stream of their
/// own again, so that adding expiry changes nothing else).
pub(super) fn plans(w: &Workload, version: VersionName, seed: u64) -> Vec<Vec<Planned>> {
    let mut rng = SplitMix64::new(seed ^ 0x7AAF_F1C0_0000_0002);
    let mut bursts = SplitMix64::new(seed ^ 0xB0B5_7000_0000_0003);
    let mut expiries = SplitMix64::new(seed ^ 0xE7E1_2E00_0000_0004);
    let t = &w.workload;
    let start = 500;
    let span = w.duration.millis().saturating_sub(start).max(1);
    let expiry = t.message_expiry.filter(|_| version == VersionName::V5);
    (0..t.publishers)
        .map(|i| {
            let n = t.messages / t.publishers + u32::from(i < t.messages % t.publishers);
            let mut burst_left = 0u64;
            let mut burst_at = 0;
            (1..=n)
                .map(|seq| {
                    let mut at_ms = start + span * u64::from(seq - 1) / u64::from(n.max(1));
                    if t.burst.max > 1 {
                        if burst_left == 0 {
                            burst_left = uniform(
                                &mut bursts,
                                u64::from(t.burst.min),
                                u64::from(t.burst.max),
                            );
                            burst_at = at_ms;
                        }
                        burst_left -= 1;
                        at_ms = burst_at;
                    }
                    let qos = t.qos[(rng.next_u64() % t.qos.len() as u64) as usize];
                    let size = uniform(&mut rng, t.payload.0 as u64, t.payload.1 as u64) as usize;
                    let expiry = expiry.and_then(|e| {
                        (expiries.next_f64() < e.share.0).then(|| {
                            let secs = uniform(
                                &mut expiries,
                                e.interval.min.millis() / 1000,
                                e.interval.max.millis() / 1000,
                            );
                            secs.clamp(1, u64::from(u32::MAX)) as u32
                        })
                    });
                    Planned {
                        seq,
                        at_ms,
                        qos,
                        size,
                        expiry,
                    }
                })
                .collect()
        })
        .collect()
}

/// Every client of the workload, as it runs on the broker, with its knobs
/// drawn from the seed (each client from a stream of its own).
pub(super) fn roles(w: &Workload, version: VersionName, seed: u64, naming: &Naming) -> Vec<Role> {
    let t = &w.workload;
    let mut roles = Vec::new();
    let v5 = version == VersionName::V5;
    let role = |name: String| {
        let own = crate::net::loss::link_seed(seed ^ 0xC11E_0000_0000_0005, &name);
        Role {
            ack_delay: t.ack_delay.map(|r| (r.min.millis(), r.max.millis())),
            seed: own,
            ..Role::new(name, version.protocol(), t.keep_alive, naming.clone())
        }
    };
    for (i, (name, plan)) in w
        .publisher_names()
        .into_iter()
        .zip(plans(w, version, seed))
        .enumerate()
    {
        let topic = t.topics[i % t.topics.len()].clone();
        let r = role(name);
        let mut rng = SplitMix64::new(r.seed);
        let inflight = uniform(
            &mut rng,
            u64::from(t.inflight.min),
            u64::from(t.inflight.max),
        );
        let resend = t.resend.map(|x| {
            let every = uniform(&mut rng, x.every.min.millis(), x.every.max.millis());
            let times = uniform(&mut rng, u64::from(x.times.min), u64::from(x.times.max));
            (Duration::from_millis(every.max(1)), times as u32)
        });
        roles.push(Role {
            // Publishers keep their sessions: resending unacknowledged
            // messages on reconnect is only right within a session.
            kept: true,
            publish: Some((topic, plan)),
            will: t.wills,
            retain: t.retain,
            inflight: inflight.clamp(1, 65_535) as u16,
            resend,
            ..r
        });
    }
    let qos_choices = &t.subscribe_qos.0;
    for (i, name) in w.subscriber_names().into_iter().enumerate() {
        let r = role(name);
        let mut rng = SplitMix64::new(r.seed ^ 0x5B5C_0000_0000_0006);
        let subscribe = (0..t.filters_each as usize)
            .map(|k| {
                let filter = t.filters[(i + k) % t.filters.len()].clone();
                let qos = if qos_choices.len() == 1 {
                    qos_choices[0]
                } else {
                    qos_choices[(rng.next_u64() % qos_choices.len() as u64) as usize]
                };
                (filter, qos)
            })
            .collect();
        let session_expiry = t
            .session_expiry
            .filter(|_| v5)
            .map(|e| uniform(&mut rng, e.min.millis() / 1000, e.max.millis() / 1000).max(1) as u32);
        roles.push(Role {
            kept: t.sessions == Sessions::Kept,
            subscribe,
            receive_maximum: t
                .receive_maximum
                .filter(|_| v5)
                .map(|r| (r.min.clamp(1, 65_535) as u16, r.max.clamp(1, 65_535) as u16)),
            session_expiry,
            ..r
        });
    }
    if t.wills {
        roles.push(Role {
            subscribe: vec![("wills/+".into(), 1)],
            ack_delay: None,
            ..role(WILL_WATCHER.into())
        });
    }
    roles
}
