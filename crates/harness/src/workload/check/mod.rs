//! Checkers of MQTT's delivery promises over a workload [`History`].
//!
//! A run ends with every fault healed and a quiet drain, so whatever must
//! arrive has had its chance: a missing delivery is a loss, not a delay.
//!
//! The subscriptions a delivery or a publish is judged against come from
//! the `Subscribed` events (refused ones ignored). A subscription is live
//! from its SUBACK (`Subscribed.at`, inclusive) until a later SUBACK for
//! the same filter replaces it or, for a client that is not in
//! `roles.kept_sessions`, until a `Connected` that starts a new session
//! (Clean Start, or no session present). Kept sessions never lose a
//! subscription: if the broker forgot one, the loss shows as such.
//!
//! Each checker reports its own promise only, so that one fault is one
//! violation: losses are `at_least_once` (effective QoS 1) and
//! `exactly_once` (effective QoS 2); duplicates are `at_most_once` (QoS 0)
//! and `exactly_once`; `routes_match_filters` reports only deliveries that
//! should not have happened (no matching filter, another topic, a message
//! nobody published), never a missing one.

use std::collections::{BTreeMap, BTreeSet};

use record::advisory::Advisory;
use record::history::{Event, History, Ms, MsgId, WillInfo};
use record::violation::Violation;
use scenario::workload::Check;

mod delivery;
mod expiry;
mod flow;
mod index;
mod order;
mod qos;
mod retained;
mod routing;
mod session;
mod summary;
mod takeover;
mod will;

use delivery::*;
use expiry::*;
use flow::*;
use index::*;
use order::*;
use qos::*;
use retained::*;
use routing::*;
use session::*;
pub use summary::queue_summary;
use takeover::*;
use will::*;

/// Faults this close to a violation are listed with it.
pub(crate) const FAULT_WINDOW: Ms = 5_000;

/// What the checkers found: broken promises, and advisories where the
/// spec reads two ways.
#[derive(Debug, Default)]
pub struct Findings {
    pub violations: Vec<Violation>,
    pub advisories: Vec<Advisory>,
}

/// Runs one checker. Violations come in order of `at`.
pub fn run(check: Check, h: &History) -> Vec<Violation> {
    run_on(check, &Index::new(h)).violations
}

/// Runs each checker once (repeats ignored), in the order given; each
/// checker's violations in order of `at`.
pub fn run_all(checks: &[Check], h: &History) -> Findings {
    let ix = Index::new(h);
    let mut done = BTreeSet::new();
    let mut out = Findings::default();
    for &c in checks {
        if done.insert(c) {
            let f = run_on(c, &ix);
            out.violations.extend(f.violations);
            out.advisories.extend(f.advisories);
        }
    }
    out
}

fn run_on(check: Check, ix: &Index<'_>) -> Findings {
    let (mut violations, advisories) = match check {
        Check::AtMostOnce => (at_most_once(ix), Vec::new()),
        Check::AtLeastOnce => (at_least_once(ix), Vec::new()),
        Check::ExactlyOnce => (exactly_once(ix), Vec::new()),
        Check::OrderedPerPublisher => (ordered_per_publisher(ix), Vec::new()),
        Check::RoutesMatchFilters => (routes_match_filters(ix), Vec::new()),
        Check::RetainedLatest => (retained_latest(ix), Vec::new()),
        Check::WillOnAbnormalDisconnect => will_on_abnormal_disconnect(ix),
        Check::QosAsGranted => (qos_as_granted(ix), Vec::new()),
        Check::NoExpiredDelivery => no_expired_delivery(ix),
        Check::ReceiveMaximumRespected => (receive_maximum_respected(ix), Vec::new()),
        Check::SessionExpiryRespected => (session_expiry_respected(ix), Vec::new()),
        Check::TakeoverClean => takeover_clean(ix),
    };
    violations.sort_by(|a, b| {
        (a.at, &a.message, &a.subscriber, &a.what).cmp(&(b.at, &b.message, &b.subscriber, &b.what))
    });
    Findings {
        violations,
        advisories,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_chaos;
#[cfg(test)]
mod tests_unanswered;
