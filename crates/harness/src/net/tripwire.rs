//! Faults that fall on a packet: armed at their time, each waits for the
//! `count`th packet of a type on one client's link and fires right after
//! that packet arrived where it was going. Whoever sees packets arrive
//! (the fault proxy in front of a real broker; in simulation the client
//! for what it receives and a tap at the broker for what it sends) reports
//! them here, and applies a link fault at once, between that packet and
//! the next; the run's driver hears of every firing on its next step and
//! applies the other faults then.
//!
//! Shared between the driver and the watchers, which on a real broker run
//! on tasks of their own: hence a mutex, held only to count.

use std::sync::{Arc, Mutex};

use protocol::PacketType;
use record::workload::Trigger;

/// How a watcher applies a link fault the moment a packet fires it.
pub type Apply = fn(&LinkFault);

/// A fault to apply on a link the moment its trigger fires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkFault {
    Cut(String),
    Stall(String),
}

/// A fault that fired: which (by the driver's number), when, on which
/// packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fired {
    pub id: usize,
    pub at_ms: u64,
    pub packet: String,
}

/// What a packet fired: link faults to apply now, and what each fault
/// that fell is.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Arrival {
    pub link: Vec<LinkFault>,
    pub fired: Vec<String>,
}

struct Armed {
    id: usize,
    what: String,
    trigger: Trigger,
    seen: u32,
    link: Option<LinkFault>,
}

#[derive(Default)]
struct Inner {
    armed: Vec<Armed>,
    fired: Vec<Fired>,
}

/// The armed triggers of one run.
#[derive(Clone, Default)]
pub struct Tripwires {
    inner: Arc<Mutex<Inner>>,
}

impl Tripwires {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Arms fault `id`: from now on it counts its packets. `link` is what
    /// to do on the link the moment it fires (None: the driver applies it).
    pub fn arm(&self, id: usize, what: String, trigger: Trigger, link: Option<LinkFault>) {
        self.lock().armed.push(Armed {
            id,
            what,
            trigger,
            seen: 0,
            link,
        });
    }

    /// A packet of `client`'s link arrived where it was going (`sent`: at
    /// the broker). Returns the link faults to apply now, before the next
    /// packet passes; `label` names the packet in what fired.
    pub fn arrived(
        &self,
        client: &str,
        sent: bool,
        packet: Option<PacketType>,
        at_ms: u64,
        label: impl FnOnce() -> String,
    ) -> Arrival {
        let mut out = Arrival::default();
        let Some(packet) = packet else {
            return out;
        };
        let mut inner = self.lock();
        if inner.armed.is_empty() {
            return out;
        }
        let mut fired = Vec::new();
        inner.armed.retain_mut(|a| {
            let t = &a.trigger;
            if t.by != client || t.sent != sent || t.packet != packet {
                return true;
            }
            a.seen += 1;
            if a.seen < t.count {
                return true;
            }
            out.link.extend(a.link.take());
            out.fired.push(a.what.clone());
            fired.push(a.id);
            false
        });
        if !fired.is_empty() {
            let label = label();
            for id in fired {
                inner.fired.push(Fired {
                    id,
                    at_ms,
                    packet: label.clone(),
                });
            }
        }
        out
    }

    /// No trigger waits any more: nothing more fires.
    pub fn disarm(&self) {
        self.lock().armed.clear();
    }

    /// What fired since the last call, in order.
    pub fn take_fired(&self) -> Vec<Fired> {
        std::mem::take(&mut self.lock().fired)
    }

    /// Whether any trigger waits for packets.
    pub fn any_armed(&self) -> bool {
        !self.lock().armed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trigger(by: &str, sent: bool, packet: PacketType, count: u32) -> Trigger {
        Trigger {
            by: by.into(),
            sent,
            packet,
            count,
        }
    }

    #[test]
    fn a_trigger_fires_on_its_nth_packet_of_its_type_its_way_on_its_link_only() {
        let t = Tripwires::default();
        t.arm(
            0,
            "cut s1 for 500 ms".into(),
            trigger("s1", false, PacketType::PubRec, 3),
            Some(LinkFault::Cut("s1".into())),
        );
        t.arm(
            1,
            "reset p1".into(),
            trigger("p1", true, PacketType::PubRel, 1),
            None,
        );
        let pubrec = Some(PacketType::PubRec);
        // Wrong client, wrong way, wrong type: none counts.
        let nothing = Arrival::default();
        assert_eq!(t.arrived("p1", false, pubrec, 1, || "x".into()), nothing);
        assert_eq!(t.arrived("s1", true, pubrec, 2, || "x".into()), nothing);
        let puback = Some(PacketType::PubAck);
        assert_eq!(t.arrived("s1", false, puback, 3, || "x".into()), nothing);
        assert_eq!(t.arrived("s1", false, pubrec, 4, || "x".into()), nothing);
        assert_eq!(t.arrived("s1", false, pubrec, 5, || "x".into()), nothing);
        assert!(t.take_fired().is_empty());
        let now = t.arrived("s1", false, pubrec, 6, || "PUBREC id=3".into());
        assert_eq!(now.link, vec![LinkFault::Cut("s1".into())]);
        assert_eq!(now.fired, vec!["cut s1 for 500 ms".to_string()]);
        assert_eq!(
            t.take_fired(),
            vec![Fired {
                id: 0,
                at_ms: 6,
                packet: "PUBREC id=3".into()
            }]
        );
        // Fired once only.
        assert_eq!(t.arrived("s1", false, pubrec, 7, || "x".into()), nothing);
        assert!(t.any_armed());
        let pubrel = t.arrived("p1", true, Some(PacketType::PubRel), 8, || "PUBREL".into());
        assert!(pubrel.link.is_empty());
        assert_eq!(pubrel.fired, vec!["reset p1".to_string()]);
        assert_eq!(t.take_fired()[0].id, 1);
        assert!(!t.any_armed());
    }
}
