//! A workload as a whole: limits a run cannot work with (no publishers, no
//! messages, a payload range the wrong way round, faults that would never
//! happen), the topics and filters its clients use, its fault schedule and
//! the checkers it names.

use super::scenario::{broker, versions};
use super::{topic, Problems, Read};
use crate::tree::Place;
use crate::workload::{broker_sends, client_sends, After, Check, Faults, FixedFault, Workload};
use crate::VersionName;

/// Every mistake of `w`, placed in the document it was read from.
pub(crate) fn workload(p: &mut Problems, w: &Workload, doc: &Read) {
    let top = Place::new(doc.read);
    if w.name.trim().is_empty() {
        p.at(top.get("name"), "`name` is empty");
    }
    versions(p, &w.versions, top.get("versions"));
    if w.duration.millis() == 0 {
        p.at(
            top.get("duration"),
            "`duration` is 0: there is no time for any traffic",
        );
    }
    faults(p, w, top.get("faults"));
    broker(p, &w.broker, top.get("broker"));
    traffic(p, w, top.get("workload"));
    checks(p, w, top.get("check"));
}

/// The item of the list at `place` written as `text`, for values that
/// cannot fail to load (so the list is as written).
fn item<'t>(place: Place<'t>, i: usize, text: &str) -> Place<'t> {
    match place.node.items().get(i) {
        Some(n) if n.text == text => Place::new(n),
        _ => place
            .node
            .items()
            .iter()
            .find(|n| n.text == text)
            .map_or(place, Place::new),
    }
}

fn traffic(p: &mut Problems, w: &Workload, place: Place) {
    let t = &w.workload;
    for (n, key, what) in [
        (t.publishers, "publishers", "publisher"),
        (t.subscribers, "subscribers", "subscriber"),
        (t.messages, "messages", "message"),
    ] {
        if n == 0 {
            p.at(
                place.get(key),
                format!("workload: {key} is 0; a run needs at least one {what}"),
            );
        }
    }
    for (empty, key) in [
        (t.filters.is_empty(), "filters"),
        (t.topics.is_empty(), "topics"),
        (t.qos.is_empty(), "qos"),
    ] {
        if empty {
            p.at(place.get(key), format!("workload: {key} is empty"));
        }
    }
    for (i, &q) in t.qos.iter().enumerate() {
        if q > 2 {
            p.at(
                item(place.get("qos"), i, &q.to_string()),
                format!("workload: QoS {q} is not 0, 1 or 2"),
            );
        }
    }
    let sub_qos = place.get("subscribe_qos");
    if t.subscribe_qos.0.is_empty() {
        p.at(sub_qos, "workload: subscribe_qos is empty");
    }
    for (i, &q) in t.subscribe_qos.0.iter().enumerate() {
        if q > 2 {
            let at = if sub_qos.node.items().is_empty() {
                sub_qos
            } else {
                item(sub_qos, i, &q.to_string())
            };
            p.at(at, format!("workload: subscribe_qos {q} is not 0, 1 or 2"));
        }
    }
    if t.filters_each == 0 || t.filters_each as usize > t.filters.len().max(1) {
        p.at(
            place.get("filters_each"),
            format!(
                "workload: filters_each {} must be between 1 and the number of filters ({})",
                t.filters_each,
                t.filters.len()
            ),
        );
    }
    knobs(p, w, place);
    let v5 = w.versions.contains(&VersionName::V5);
    for (i, f) in t.filters.iter().enumerate() {
        let at = item(place.get("filters"), i, f);
        if let Err(e) = topic::filter(f, &w.versions) {
            p.at(at, format!("workload: {e}"));
        } else if v5 && f.starts_with("$share/") {
            // Its subscribers would share the messages; the checkers judge
            // each subscriber as if it had them all.
            p.at(
                at,
                format!(
                    "workload: filter {f:?} is a shared subscription in MQTT 5.0; \
                     workload subscribers each get every message they match"
                ),
            );
        }
    }
    for (i, topic_name) in t.topics.iter().enumerate() {
        if let Err(e) = topic::name(topic_name, &w.versions) {
            p.at(
                item(place.get("topics"), i, topic_name),
                format!("workload: {e}"),
            );
        }
    }
    let (min, max) = t.payload;
    let payload = place.get("payload");
    if min > max {
        p.at(
            payload,
            format!(
                "workload: payload [{min}, {max}] is [smallest, largest]: {min} is more than {max}"
            ),
        );
    }
    if max > 64 * 1024 {
        p.at(
            payload.item(1),
            format!("workload: payload sizes are at most 65536 bytes (64 KiB), not {max}"),
        );
    }
    if t.keep_alive == 0 {
        p.at(
            place.get("keep_alive"),
            "workload: keep_alive must be at least 1 s (it is how a client notices a cut link)",
        );
    }
}

/// The knobs of adversarial traffic: counts within what MQTT can carry,
/// intervals in whole seconds, and each knob on a version that has it.
fn knobs(p: &mut Problems, w: &Workload, place: Place) {
    let t = &w.workload;
    let has = |v: VersionName| w.versions.contains(&v);
    let only_on = |p: &mut Problems, key: &str, v: VersionName, why: &str| {
        p.at(
            place.get(key),
            format!(
                "workload: {key} applies to MQTT {v} runs only ({why}), and this workload runs only {}",
                w.versions
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    };
    if t.inflight.min == 0 || t.inflight.max > 65_535 {
        p.at(
            place.get("inflight"),
            format!(
                "workload: inflight {} must be within 1..65535 (a Packet Identifier's range)",
                t.inflight
            ),
        );
    }
    if t.burst.min == 0 {
        p.at(
            place.get("burst"),
            "workload: burst must be at least 1 message",
        );
    }
    if let Some(r) = &t.resend {
        let at = place.get("resend");
        if r.every.min.millis() == 0 {
            p.at(
                at.get("every"),
                "workload: resend every must be more than 0",
            );
        }
        if r.times.min == 0 {
            p.at(at.get("times"), "workload: resend times must be at least 1");
        }
        if !has(VersionName::V311) {
            only_on(
                p,
                "resend",
                VersionName::V311,
                "5.0 resends only on reconnecting, MQTT-4.4.0-1",
            );
        }
    }
    let whole_seconds = |p: &mut Problems, at: Place, key: &str, r: (u64, u64)| {
        if r.0 < 1000 || !r.0.is_multiple_of(1000) || !r.1.is_multiple_of(1000) {
            p.at(
                at,
                format!("workload: {key} is in whole seconds, at least 1s (as MQTT carries it)"),
            );
        }
    };
    if let Some(e) = &t.message_expiry {
        let at = place.get("message_expiry");
        whole_seconds(
            p,
            at.get("interval"),
            "message_expiry interval",
            (e.interval.min.millis(), e.interval.max.millis()),
        );
        if e.share.0 <= 0.0 {
            p.at(
                at.get("share"),
                "workload: message_expiry share is 0%: no message would carry one",
            );
        }
        if !has(VersionName::V5) {
            only_on(
                p,
                "message_expiry",
                VersionName::V5,
                "3.1.1 has no Message Expiry Interval",
            );
        }
    }
    if let Some(r) = &t.receive_maximum {
        if r.min == 0 || r.max > 65_535 {
            p.at(
                place.get("receive_maximum"),
                format!("workload: receive_maximum {r} must be within 1..65535 (0 is a Protocol Error, §3.1.2.11.3)"),
            );
        }
        if !has(VersionName::V5) {
            only_on(
                p,
                "receive_maximum",
                VersionName::V5,
                "3.1.1 has no Receive Maximum",
            );
        }
    }
    if let Some(e) = &t.session_expiry {
        whole_seconds(
            p,
            place.get("session_expiry"),
            "session_expiry",
            (e.min.millis(), e.max.millis()),
        );
        if !has(VersionName::V5) {
            only_on(
                p,
                "session_expiry",
                VersionName::V5,
                "3.1.1 sessions do not expire",
            );
        }
    }
}

fn faults(p: &mut Problems, w: &Workload, place: Place) {
    if w.workload.wills && w.fault_kinds().iter().any(|k| k.is_takeover()) {
        p.at(
            place,
            "faults: takeovers and `wills: true` do not go together: readings of the spec \
             differ on whether a will is published when its session is taken over",
        );
    }
    let duration = w.duration;
    match &w.faults {
        Some(Faults::Random(f)) => {
            if f.pick.is_empty() {
                p.at(place.get("pick"), "faults: pick at least one kind");
            }
            if f.every.min.millis() == 0 {
                p.at(place.get("every"), "faults: every must be more than 0");
            } else if duration.millis() > 0 && f.every.min >= duration {
                p.at(
                    place.get("every"),
                    format!(
                        "faults: every {} is not shorter than duration {duration}: no fault would happen",
                        f.every.min
                    ),
                );
            }
            if let Some(on) = &f.on_packets {
                let at = place.get("on_packets");
                if on.count.min == 0 {
                    p.at(at.get("count"), "faults: on_packets: count starts at 1");
                }
                if on.packets.as_ref().is_some_and(|l| l.is_empty()) {
                    p.at(
                        at.get("packets"),
                        "faults: on_packets: packets needs at least one type (or leave it out for every packet of the QoS flows)",
                    );
                }
            }
        }
        Some(Faults::Fixed(list)) => {
            let mut names = w.publisher_names();
            names.extend(w.subscriber_names());
            if w.workload.wills {
                names.push("w".into());
            }
            for (i, f) in list.iter().enumerate() {
                let at = place.item(i);
                match (&f.target, f.fault) {
                    (Some(_), k) if k.on_broker() => p.at(
                        at.get("target"),
                        format!("faults: {} takes no target", k.name()),
                    ),
                    (None, k) if !k.on_broker() => p.at(
                        at.get("fault"),
                        format!("faults: {} needs a target", k.name()),
                    ),
                    (Some(t), _) if !names.contains(t) => p.at(
                        at.get("target"),
                        format!(
                            "faults: unknown target {t:?} (the clients are {})",
                            names.join(", ")
                        ),
                    ),
                    _ => {}
                }
                match (f.fault.lasts(), f.length) {
                    (true, None) => p.at(
                        at.get("fault"),
                        format!("faults: {} needs a length", f.fault.name()),
                    ),
                    (false, Some(_)) => p.at(
                        at.get("length"),
                        format!(
                            "faults: {} happens at once and takes no length",
                            f.fault.name()
                        ),
                    ),
                    _ => {}
                }
                if let Some(a) = &f.after {
                    after(p, a, f, &names, at.get("after"));
                }
                if f.at >= duration {
                    p.at(
                        at.get("at"),
                        format!(
                            "faults: at {} is not before the end of the traffic (duration {duration}): \
                             it would never happen",
                            f.at
                        ),
                    );
                }
            }
        }
        None => {}
    }
}

/// A packet trigger names one packet one way, on a client's link, and a
/// packet that way can exist.
fn after(p: &mut Problems, a: &After, f: &FixedFault, names: &[String], place: Place) {
    match a.packet() {
        None => p.at(
            place,
            "faults: after needs one of `sent: PACKET` (the client sends it; the fault falls once              the broker has it) or `received: PACKET` (the fault falls once the client has it)",
        ),
        Some((t, true)) if !client_sends(t) => p.at(
            place.get("sent"),
            format!("faults: after: a client never sends {t}: the fault would never fall"),
        ),
        Some((t, false)) if !broker_sends(t) => p.at(
            place.get("received"),
            format!("faults: after: a broker never sends {t}: the fault would never fall"),
        ),
        Some(_) => {}
    }
    if a.count == 0 {
        p.at(place.get("count"), "faults: after: count starts at 1");
    }
    match (&a.by, &f.target) {
        (Some(b), _) if !names.contains(b) => p.at(
            place.get("by"),
            format!(
                "faults: after: unknown client {b:?} (the clients are {})",
                names.join(", ")
            ),
        ),
        (None, None) => p.at(
            place,
            format!(
                "faults: after: {} has no target, so say whose packet it waits for with `by: CLIENT`",
                f.fault.name()
            ),
        ),
        _ => {}
    }
}

fn checks(p: &mut Problems, w: &Workload, place: Place) {
    if w.check.is_empty() {
        p.at(place, "check: name at least one checker");
    }
    let t = &w.workload;
    for (i, name) in w.check.iter().enumerate() {
        let at = item(place, i, name);
        if w.check[..i].contains(name) {
            p.at(at, format!("check: {name} is listed twice"));
            continue;
        }
        match name.parse::<Check>() {
            Err(e) => p.at(at, format!("check: {e}")),
            Ok(Check::RetainedLatest) if !t.retain => p.at(
                at,
                "check: retained_latest needs `retain: true` under `workload:`; \
                 without retained messages it checks nothing",
            ),
            Ok(Check::WillOnAbnormalDisconnect) if !t.wills => p.at(
                at,
                "check: will_on_abnormal_disconnect needs `wills: true` under `workload:`; \
                 without wills it checks nothing",
            ),
            Ok(Check::NoExpiredDelivery) if t.message_expiry.is_none() => p.at(
                at,
                "check: no_expired_delivery needs `message_expiry` under `workload:`",
            ),
            Ok(Check::ReceiveMaximumRespected) if t.receive_maximum.is_none() => p.at(
                at,
                "check: receive_maximum_respected needs `receive_maximum` under `workload:`",
            ),
            Ok(Check::SessionExpiryRespected) if t.session_expiry.is_none() => p.at(
                at,
                "check: session_expiry_respected needs `session_expiry` under `workload:`",
            ),
            Ok(Check::TakeoverClean) if !w.fault_kinds().iter().any(|k| k.is_takeover()) => p.at(
                at,
                "check: takeover_clean needs a takeover among the faults \
                 (takeover, takeover_half_open or takeover_clean)",
            ),
            Ok(_) => {}
        }
    }
}
