//! The total-queue summary of a run (as Jepsen's total-queue checker
//! counts it), per QoS: attempted, acknowledged, delivered, lost,
//! dropped, duplicated, unexpected, recovered. Lost is what the delivery
//! checkers count as losses; what never arrived but was owed to no one is
//! dropped, so that a passing run says 0 lost.

use super::*;
use record::workload::QueueLine;

/// One line per QoS that was published, in QoS order.
pub fn queue_summary(h: &History) -> Vec<QueueLine> {
    let ix = Index::new(h);
    let mut lines: BTreeMap<u8, QueueLine> = BTreeMap::new();
    let subscribers: BTreeSet<&str> = ix.subs.keys().copied().collect();
    let kept: BTreeSet<&str> = ix.kept_subscribers().collect();
    for (&id, msg) in &ix.msgs {
        let l = lines.entry(msg.qos).or_insert_with(|| QueueLine {
            qos: msg.qos,
            ..QueueLine::default()
        });
        l.attempted += 1;
        let acked = msg.acked.is_some();
        if acked && msg.qos > 0 {
            l.acknowledged += 1;
        }
        for &client in &subscribers {
            let got = !ix.copies(client, id).is_empty();
            let sub = ix.best_sub(client, msg.topic, msg.at);
            let due = sub.is_some() && (acked || msg.qos == 0);
            let owed = sub.is_some_and(|s| owed(msg, &s, kept.contains(client)));
            if got {
                l.delivered += 1;
                if msg.qos > 0 && !acked {
                    l.recovered += 1;
                }
                if count_copies(&ix, client, id, msg).excess_at.is_some() {
                    l.duplicated += 1;
                }
            } else if owed {
                l.lost += 1;
            } else if due {
                l.dropped += 1;
            }
        }
    }
    for d in &ix.deliveries {
        if !d.id.will && !ix.msgs.contains_key(d.id) {
            let qos = d.qos;
            lines
                .entry(qos)
                .or_insert_with(|| QueueLine {
                    qos,
                    ..QueueLine::default()
                })
                .unexpected += 1;
        }
    }
    lines.into_values().collect()
}
