//! `receive_maximum_respected`: never more unacknowledged QoS 1 and 2
//! messages to a client than the Receive Maximum its connection announced.

use super::*;

/// What a connection has outstanding, as the client saw it.
#[derive(Default)]
struct Window {
    limit: Option<u16>,
    /// QoS 1 and 2 PUBLISHes received on this connection, not yet
    /// acknowledged on it (PUBACK, or PUBCOMP after PUBREL).
    unacked: BTreeSet<u16>,
    /// Acknowledgements on this connection of messages received on an
    /// earlier one: each gives the broker's quota a place back, as the
    /// wire monitor reads §4.9 (a looser reading than one that caps the
    /// quota at its initial value, so it never blames a broker wrongly).
    credit: usize,
    reported: bool,
}

/// MQTT-3.3.4-9: on every connection, counting from its CONNECT (a
/// resumed session starts a new quota, MQTT-4.9.0-1, and the messages the
/// broker resends count again). The first breach of each connection is
/// reported, with how many were outstanding.
pub(super) fn receive_maximum_respected(ix: &Index<'_>) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut windows: BTreeMap<(&str, u32), Window> = BTreeMap::new();
    let mut events: Vec<&Event> = ix.h.events.iter().collect();
    events.sort_by_key(|e| e.at());
    for e in events {
        match e {
            Event::Connected {
                client,
                connection,
                receive_maximum,
                ..
            } => {
                windows.insert(
                    (client.as_str(), *connection),
                    Window {
                        limit: *receive_maximum,
                        ..Window::default()
                    },
                );
            }
            Event::Delivered {
                at,
                client,
                id,
                qos,
                connection,
                packet_id: Some(pid),
                ..
            } if *qos > 0 => {
                let Some(w) = windows.get_mut(&(client.as_str(), *connection)) else {
                    continue;
                };
                w.unacked.insert(*pid);
                let Some(limit) = w.limit else { continue };
                let allowed = usize::from(limit) + w.credit;
                if w.unacked.len() > allowed && !w.reported {
                    w.reported = true;
                    let ids: Vec<String> = w.unacked.iter().map(|p| p.to_string()).collect();
                    let what = format!(
                        "{client} had {} QoS 1/2 messages unacknowledged on connection \
                         {connection} when {id} (packet id {pid}) arrived at {}, over the \
                         Receive Maximum {limit} its CONNECT announced{} (packet ids {}) — the \
                         Server MUST NOT send more (MQTT-3.3.4-9)",
                        w.unacked.len(),
                        secs(*at),
                        if w.credit > 0 {
                            format!(
                                " and the {} acknowledgements of earlier connections' messages",
                                w.credit
                            )
                        } else {
                            String::new()
                        },
                        ids.join(", ")
                    );
                    out.push(ix.violation(
                        Check::ReceiveMaximumRespected,
                        Some(id),
                        Some(client),
                        *at,
                        what,
                    ));
                }
            }
            Event::Freed {
                client,
                connection,
                packet_id,
                ..
            } => {
                if let Some(w) = windows.get_mut(&(client.as_str(), *connection)) {
                    if !w.unacked.remove(packet_id) {
                        w.credit += 1;
                    }
                }
            }
            _ => {}
        }
    }
    out
}
