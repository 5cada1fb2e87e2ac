//! A failing workload run written as a scripted scenario, so that the
//! finding runs in every later `gauntlet run`, on every broker.
//!
//! The scenario keeps what mattered: the publisher and the subscriber of
//! the first violation that names both, the message it was about (its
//! topic, QoS and payload), the subscriber's filters, and each fault on
//! their links or on the broker placed at the stage of that message's
//! flow where it fell in the run (before the publish, with the PUBLISH on
//! its way, after PUBACK or PUBREC, after the PUBREL, before or after the
//! delivery) — so a fault a packet fired lands between the same two
//! packets again. After the faults every link heals, the clients that lost
//! their connection resume their sessions and do what a client must
//! (resend the PUBLISH with DUP, or the PUBREL), and the expectation that
//! failed is written as steps: the delivery the subscriber is owed, at the
//! QoS it is owed, and nothing more where a copy more was the fault.
//!
//! The publishing order is the safe one for both QoS 2 methods of Figure
//! 4.3 (the delivery is waited for after the publisher's flow completes),
//! and a fault before the delivery is placed before the publish, so the
//! broker forwards into it whatever its method.

use std::fmt::Write as _;

use record::history::{Event, History, Ms, MsgId};
use record::workload::{Outcome, ScheduledFault};
use scenario::workload::{Check, FaultKind, Sessions, Workload};
use scenario::VersionName;

/// Where in the message's flow a fault falls, in the order the script
/// runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    /// Before the PUBLISH leaves (or, on the subscriber's link, before the
    /// broker forwards it).
    BeforePublish,
    /// The PUBLISH sent, its PUBACK or PUBREC not yet back.
    Sent,
    /// QoS 2: PUBREC back, the PUBREL not yet sent.
    Received,
    /// QoS 2: PUBREL sent, PUBCOMP not yet back.
    Released,
    /// The publisher's flow is complete, the message not yet delivered (a
    /// broker fault).
    Done,
    /// The publisher's flow is complete; the subscriber has the message
    /// and has not acknowledged it.
    Delivered,
    /// QoS 2: the subscriber's PUBREC went out, the PUBREL not yet in.
    Recorded,
    /// After everything: nothing of this message can change.
    After,
}

/// The message a violation is about, and who exchanged it.
struct Flow {
    id: MsgId,
    publisher: String,
    subscriber: String,
    topic: String,
    qos: u8,
    /// At the QoS it was owed to the subscriber.
    delivered_qos: u8,
    filters: Vec<(String, u8)>,
}

/// A fault of the run, where it fell.
struct Placed<'a> {
    stage: Stage,
    fault: &'a ScheduledFault,
}

/// The checks whose violations name one message and one subscriber.
const EXPORTABLE: [Check; 4] = [
    Check::AtLeastOnce,
    Check::ExactlyOnce,
    Check::AtMostOnce,
    Check::QosAsGranted,
];

/// The scripted scenario for failed run `o` of `w` (from file `source`).
pub fn scenario(w: &Workload, source: &str, o: &Outcome) -> Result<String, String> {
    let v = o
        .violations
        .iter()
        .find(|v| {
            v.message.is_some()
                && v.subscriber.is_some()
                && EXPORTABLE.iter().any(|c| c.name() == v.check)
        })
        .ok_or_else(|| {
            let names: Vec<&str> = EXPORTABLE.iter().map(|c| c.name()).collect();
            format!(
                "no violation to export: only one about a message and a subscriber \
                 ({}) can be written as a scenario yet",
                names.join(", ")
            )
        })?;
    let check: Check = v.check.parse()?;
    if w.workload.sessions != Sessions::Kept
        && o.faults
            .iter()
            .any(|f| f.kind.on_broker() || f.target == v.subscriber)
    {
        return Err(format!(
            "{}'s session is clean: what a fault on its link loses is owed to no one, so no \
             scenario can expect it",
            v.subscriber.as_deref().unwrap_or_default()
        ));
    }
    if o.history
        .events
        .iter()
        .any(|e| matches!(e, Event::BrokerRestarted { kept: false, .. }))
    {
        return Err(
            "the broker kept nothing across a restart, as promised: nothing it \
                    forgot is owed, so no scenario can expect it"
                .into(),
        );
    }
    let id = v.message.clone().expect("checked");
    let subscriber = v.subscriber.clone().expect("checked");
    let flow = flow(&o.history, id, subscriber)?;
    let placed = place(&o.history, &o.faults, &flow)?;
    if flow.delivered_qos == 0 && placed.iter().any(|p| p.stage < Stage::Delivered) {
        return Err(format!(
            "{} went at QoS 0 through a fault: a QoS 0 message a fault loses is owed to no \
             one, so no scenario can expect it",
            flow.id
        ));
    }
    let mut out = String::new();
    let version = o.version;
    let _ = writeln!(
        out,
        "# Exported by `gauntlet explore --export` from {source}, seed {}, MQTT {version}.\n\
         # The run broke {}: {}",
        o.seed,
        v.check,
        v.what.lines().next().unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "name: {}",
        quote(&format!(
            "{}: {} of {} to {} (seed {}, exported)",
            w.name, v.check, flow.id, flow.subscriber, o.seed
        ))
    );
    let faults: Vec<String> = placed.iter().map(|p| p.fault.what()).collect();
    let _ = writeln!(
        out,
        "description: >\n  {} publishes one QoS {} message on {} that {} is subscribed to; {}. \
         Written from a workload run that failed {}.",
        flow.publisher,
        flow.qos,
        flow.topic,
        flow.subscriber,
        if faults.is_empty() {
            "no fault".to_string()
        } else {
            format!("faults as in the run: {}", faults.join(", "))
        },
        v.check
    );
    let ids = check.statements(version);
    if !ids.is_empty() {
        let _ = writeln!(out, "spec: [{}]", ids.join(", "));
    }
    let _ = writeln!(out, "versions: [{version}]");
    clients(&mut out, w, version, &flow);
    let _ = writeln!(out, "steps:");
    Script::new(&mut out, w, version, &flow, check).write(&placed);
    Ok(out)
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The message, its publisher's and subscriber's part in the history.
fn flow(h: &History, id: MsgId, subscriber: String) -> Result<Flow, String> {
    let (topic, qos, at) = h
        .events
        .iter()
        .find_map(|e| match e {
            Event::Published {
                id: i,
                topic,
                qos,
                at,
                ..
            } if *i == id => Some((topic.clone(), *qos, *at)),
            _ => None,
        })
        .ok_or_else(|| format!("{id} was never published in the run: nothing to export"))?;
    // The filters the subscriber asked for, as they stood at the publish.
    let mut filters: Vec<(String, u8)> = Vec::new();
    for e in &h.events {
        if let Event::Subscribing {
            at: t,
            client,
            filters: f,
        } = e
        {
            if *client == subscriber && *t <= at {
                for (filter, q) in f {
                    filters.retain(|(x, _)| x != filter);
                    filters.push((filter.clone(), *q));
                }
            }
        }
    }
    let matching: Vec<u8> = filters
        .iter()
        .filter(|(f, _)| protocol::topic::matches(f, &topic))
        .map(|(_, q)| *q)
        .collect();
    let granted = matching
        .iter()
        .copied()
        .max()
        .ok_or_else(|| format!("{subscriber} held no filter matching {topic}"))?;
    filters.retain(|(f, _)| protocol::topic::matches(f, &topic));
    Ok(Flow {
        publisher: id.publisher.clone(),
        id,
        subscriber,
        topic,
        qos,
        delivered_qos: qos.min(granted),
        filters,
    })
}

/// When the run's fault `f` fell (a packet fault when its packet came),
/// from the history's notes; None if it never did.
fn fell_at(h: &History, f: &ScheduledFault, taken: &mut Vec<usize>) -> Option<Ms> {
    let what = f.what();
    let (i, at) = h.events.iter().enumerate().find_map(|(i, e)| match e {
        Event::Fault { at, what: w }
            if !taken.contains(&i) && (w == &what || w.starts_with(&format!("{what},"))) =>
        {
            Some((i, *at))
        }
        _ => None,
    })?;
    taken.push(i);
    Some(at)
}

fn first_at(h: &History, f: impl Fn(&Event) -> bool) -> Option<Ms> {
    h.events.iter().find(|e| f(e)).map(Event::at)
}

/// Each fault on the two clients' links or on the broker, at its stage.
fn place<'a>(
    h: &History,
    faults: &'a [ScheduledFault],
    flow: &Flow,
) -> Result<Vec<Placed<'a>>, String> {
    let id = &flow.id;
    let published = first_at(
        h,
        |e| matches!(e, Event::Published { id: i, .. } if i == id),
    );
    let acked = first_at(h, |e| matches!(e, Event::Acked { id: i, .. } if i == id));
    let completed = first_at(
        h,
        |e| matches!(e, Event::Completed { id: i, .. } if i == id),
    );
    let delivered = first_at(
        h,
        |e| matches!(e, Event::Delivered { id: i, client, .. } if i == id && *client == flow.subscriber),
    );
    let freed = delivered.and_then(|d| {
        first_at(h, |e| {
            matches!(e, Event::Freed { at, client, .. } if *at >= d && *client == flow.subscriber)
        })
    });
    let mut taken = Vec::new();
    let mut placed = Vec::new();
    for f in faults {
        let Some(at) = fell_at(h, f, &mut taken) else {
            continue;
        };
        let on_publisher = f.target.as_deref() == Some(flow.publisher.as_str());
        let on_subscriber = f.target.as_deref() == Some(flow.subscriber.as_str());
        if !(on_publisher || on_subscriber || f.kind.on_broker()) {
            continue;
        }
        match f.kind {
            FaultKind::Cut
            | FaultKind::Stall
            | FaultKind::Reset
            | FaultKind::BrokerRestart
            | FaultKind::BrokerStop => {}
            // Latency changes when packets come, never which.
            FaultKind::Latency => continue,
            k => {
                return Err(format!(
                    "the run's {} cannot be written as a scenario step yet",
                    k.name()
                ))
            }
        }
        let before = |t: Option<Ms>| t.is_none_or(|t| at <= t);
        let stage = if on_subscriber {
            // Before the delivery the fault must be in place before the
            // publish, for the broker to forward into it.
            match (delivered, freed) {
                (None, _) => Stage::BeforePublish,
                (Some(d), _) if at < d => Stage::BeforePublish,
                (Some(_), f) if before(f) || f.is_some_and(|f| at == f) => Stage::Delivered,
                _ if flow.delivered_qos == 2 && before(completed_by_subscriber(h, flow)) => {
                    Stage::Recorded
                }
                _ => Stage::After,
            }
        } else if published.is_none_or(|p| at < p) {
            Stage::BeforePublish
        } else if flow.qos > 0 && before(acked) {
            Stage::Sent
        } else if flow.qos == 2 && acked.is_some_and(|a| at == a) {
            Stage::Received
        } else if flow.qos == 2 && before(completed) {
            Stage::Released
        } else if delivered.is_none_or(|d| at < d) {
            // The publisher is done; a broker fault before the delivery.
            Stage::Done
        } else if f.kind.on_broker() && before(freed) {
            Stage::Delivered
        } else {
            Stage::After
        };
        placed.push(Placed { stage, fault: f });
    }
    placed.sort_by_key(|p| p.stage);
    Ok(placed)
}

/// When the subscriber's QoS 2 flow for the message ended (PUBCOMP sent).
fn completed_by_subscriber(h: &History, flow: &Flow) -> Option<Ms> {
    let d = first_at(
        h,
        |e| matches!(e, Event::Delivered { id, client, .. } if *id == flow.id && *client == flow.subscriber),
    )?;
    first_at(
        h,
        |e| matches!(e, Event::Freed { at, client, .. } if *at > d && *client == flow.subscriber),
    )
}

fn clients(out: &mut String, w: &Workload, version: VersionName, flow: &Flow) {
    let v5 = version == VersionName::V5;
    let kept = w.workload.sessions == Sessions::Kept;
    let expiry = |on: bool| {
        if v5 && on {
            ", session_expiry: 3600"
        } else {
            ""
        }
    };
    let keep_alive = w.workload.keep_alive;
    let _ = writeln!(out, "clients:");
    let _ = writeln!(
        out,
        "  {}: {{ clean_start: false{}, keep_alive: {keep_alive} }}",
        flow.publisher,
        expiry(true)
    );
    let _ = writeln!(
        out,
        "  {}: {{ clean_start: {}{}, keep_alive: {keep_alive}, auto_ack: false }}",
        flow.subscriber,
        !kept,
        expiry(kept)
    );
}

mod script;
use script::Script;
