//! One `gauntlet run --broker ...`: the broker under test (a URL, or a
//! profile's broker that gauntlet starts and stops), and how each run is
//! placed on it: on the shared broker with prefixes, on a broker of its own
//! (settings, crash/restart, bytes that cannot be prefixed), alone on a
//! URL broker, or skipped with the reason.

use std::collections::BTreeSet;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use super::cleanup::{self, Credentials};
use super::instance::Instance;
use super::isolate;
use super::profile::Profile;
use super::settings;
use super::world::{Link, TcpWorld};
use crate::engine;
use crate::net::tls::Tls;
use record::script::RunResult;
use scenario::workload::Workload;
use scenario::{Scenario, VersionName};

mod workload;

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `mqtt://host:port`, `mqtts://host:port`, a profile name or file.
    pub broker: String,
    pub ca: Option<PathBuf>,
    pub insecure: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    /// For a URL broker: what it can do (profiles say it themselves);
    /// empty means the usual optional features (`capability::FEATURES`).
    pub capabilities: Vec<String>,
}

enum Target {
    Url {
        url: String,
        addr: SocketAddr,
        tls: Option<Tls>,
        capabilities: BTreeSet<String>,
    },
    Managed {
        profile: Box<Profile>,
        /// The broker that runs which can share one; started again, on
        /// the same ports, when it stops answering.
        shared: Box<Mutex<Instance>>,
    },
}

pub enum Placement {
    Skip(String),
    /// On the shared broker, with prefixes.
    Shared,
    /// On a broker started for this run, with these settings.
    Dedicated(String),
    /// Unprefixed on the URL broker, with no other run at the same time.
    Exclusive(String),
}

/// A run's result (a scenario's `RunResult`, a workload's `Outcome`), or
/// why it was skipped.
pub enum Verdict<T> {
    Ran(T),
    Skipped(String),
}

pub struct Session {
    target: Target,
    username: Option<String>,
    password: Option<String>,
    /// Different for every session, so that two gauntlets testing one
    /// broker at once stay apart too.
    tag: String,
    next_run: AtomicU64,
    /// How many times the shared broker was started again.
    restarts: AtomicU64,
}

/// A short tag from the process id and the clock: a valid topic level and
/// client-id prefix.
fn session_tag() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos ^ (u64::from(std::process::id()) << 32);
    let mut tag = String::from("g");
    for _ in 0..4 {
        tag.push(char::from(
            b"0123456789abcdefghijklmnopqrstuvwxyz"[(x % 36) as usize],
        ));
        x /= 36;
    }
    tag
}

fn base36(mut n: u64) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

fn parse_url(url: &str) -> Option<(bool, &str, u16)> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("mqtt://") {
        (false, r)
    } else if let Some(r) = url.strip_prefix("mqtts://") {
        (true, r)
    } else {
        return None;
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => match p.parse() {
            Ok(port) => (h, port),
            Err(_) => return Some((tls, rest, 0)),
        },
        _ => (rest, if tls { 8883 } else { 1883 }),
    };
    Some((
        tls,
        host.trim_start_matches('[').trim_end_matches(']'),
        port,
    ))
}

impl Session {
    pub fn start(o: &Options) -> Result<Session, String> {
        let target = match parse_url(&o.broker) {
            Some((_, _, 0)) => return Err(format!("{}: the port is not a number", o.broker)),
            Some((use_tls, host, port)) => {
                let addr = (host, port)
                    .to_socket_addrs()
                    .map_err(|e| format!("{}: cannot resolve {host}: {e}", o.broker))?
                    .next()
                    .ok_or_else(|| format!("{}: {host} has no address", o.broker))?;
                let tls = if use_tls {
                    Some(Tls::new(host, o.ca.as_deref(), o.insecure)?)
                } else {
                    if o.ca.is_some() || o.insecure {
                        return Err("--ca and --insecure are for mqtts:// brokers".into());
                    }
                    None
                };
                for c in &o.capabilities {
                    if !scenario::capability::is_known(c) {
                        return Err(format!(
                            "unknown capability {c:?}; known: {}",
                            scenario::capability::names()
                        ));
                    }
                }
                // Fail once, clearly, rather than in every run.
                std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                    .map_err(|e| format!("cannot reach {} ({addr}): {e}", o.broker))?;
                if let Some(tls) = &tls {
                    // The proxies hold the TLS sessions, out of the clients'
                    // sight: a certificate refused is said here, once.
                    tls.probe(addr, Duration::from_secs(5))
                        .map_err(|e| format!("{}: TLS handshake failed: {e}", o.broker))?;
                }
                Target::Url {
                    url: o.broker.clone(),
                    addr,
                    tls,
                    capabilities: if o.capabilities.is_empty() {
                        scenario::capability::FEATURES
                            .iter()
                            .map(|c| c.to_string())
                            .collect()
                    } else {
                        o.capabilities.iter().cloned().collect()
                    },
                }
            }
            None => {
                if o.ca.is_some() || o.insecure || !o.capabilities.is_empty() {
                    return Err(
                        "--ca, --insecure and --capabilities are for brokers given by URL".into(),
                    );
                }
                let profile = Profile::find(&o.broker)?;
                let defaults = settings::render(
                    &profile.settings,
                    &profile.name,
                    &reference_broker::Config::default(),
                    &[],
                )?;
                let shared = Box::new(Mutex::new(Instance::start(&profile, &defaults)?));
                Target::Managed {
                    profile: Box::new(profile),
                    shared,
                }
            }
        };
        Ok(Session {
            target,
            username: o.username.clone(),
            password: o.password.clone(),
            tag: session_tag(),
            next_run: AtomicU64::new(1),
            restarts: AtomicU64::new(0),
        })
    }

    /// What the broker announces in its 5.0 CONNACK, for `$(broker.…)` in
    /// scenarios (an absent property is its default); an error if it gave
    /// no 5.0 CONNACK.
    pub fn announced(&self) -> Result<scenario::Announced, String> {
        if let Some(why) = self.unsupported(VersionName::V5, &[]) {
            return Err(why);
        }
        let (addr, tls) = self.shared_endpoint(VersionName::V5);
        let id = format!("{}-limits", self.tag);
        let ack = cleanup::connack(addr, tls.as_ref(), &id, &self.credentials())?;
        let p = &ack.properties;
        Ok(scenario::Announced {
            // 5.0 §3.2.2.3.3, .6, .8: what an absent property means.
            receive_maximum: p.receive_maximum.map_or(65_535, u64::from),
            maximum_packet_size: p
                .maximum_packet_size
                .map_or(scenario::LARGEST_PACKET, u64::from),
            topic_alias_maximum: p.topic_alias_maximum.map_or(0, u64::from),
        })
    }

    /// "mosquitto on 127.0.0.1:40123" or the URL.
    pub fn describe(&self) -> String {
        match &self.target {
            Target::Url { url, addr, .. } => format!("{url} ({addr})"),
            Target::Managed { profile, shared } => {
                format!("{} (profile) on {}", profile.name, lock(shared).addr())
            }
        }
    }

    /// The broker's version, as its profile's `version_command` says.
    pub fn broker_version(&self) -> Option<String> {
        match &self.target {
            Target::Url { .. } => None,
            Target::Managed { shared, .. } => lock(shared).version(),
        }
    }

    /// The broker's name: the profile's, or the URL.
    pub fn broker_name(&self) -> String {
        match &self.target {
            Target::Url { url, .. } => url.clone(),
            Target::Managed { profile, .. } => profile.name.clone(),
        }
    }

    /// Whether the broker under test has `capability`.
    pub fn has(&self, capability: &str) -> bool {
        match &self.target {
            Target::Url { capabilities, .. } => capabilities.contains(capability),
            Target::Managed { profile, .. } => profile.has(capability),
        }
    }

    /// Why this broker cannot run a run of version `v` that needs
    /// `required`, if it cannot.
    fn unsupported(&self, v: VersionName, required: &[String]) -> Option<String> {
        let (name, versions) = match &self.target {
            Target::Url { .. } => (
                "a broker given by URL".to_string(),
                vec![VersionName::V311, VersionName::V5],
            ),
            Target::Managed { profile, .. } => (
                format!("the {} profile", profile.name),
                profile.versions.clone(),
            ),
        };
        if !versions.contains(&v) {
            return Some(format!("{name} does not speak MQTT {v}"));
        }
        let missing: Vec<&String> = required.iter().filter(|c| !self.has(c)).collect();
        if missing.is_empty() {
            return None;
        }
        let what: Vec<String> = missing
            .iter()
            .map(|c| {
                let meaning = scenario::capability::ALL
                    .iter()
                    .find(|(n, _)| n == c)
                    .map_or("", |(_, m)| *m);
                format!("`{c}` ({meaning})")
            })
            .collect();
        Some(format!("needs {}, which {name} lacks", what.join(" and ")))
    }

    /// Where a run goes that needs broker `config` (as a change from the
    /// defaults) and, if `own`, a broker of its own.
    fn place(
        &self,
        config: &reference_broker::Config,
        written: &[String],
        own: bool,
        shared: Placement,
    ) -> Placement {
        let changed = settings::changed(config, written);
        match &self.target {
            Target::Url { .. } if !changed.is_empty() => {
                let keys: Vec<&str> = changed.iter().map(|(k, _)| k.as_str()).collect();
                Placement::Skip(format!(
                    "needs broker settings ({}); a broker given by URL keeps its own configuration",
                    keys.join(", ")
                ))
            }
            Target::Url { .. } => shared,
            Target::Managed { profile, .. } if changed.is_empty() && !own && profile.shared => {
                Placement::Shared
            }
            Target::Managed { profile, .. } => {
                match settings::render(&profile.settings, &profile.name, config, written) {
                    Ok(text) => Placement::Dedicated(text),
                    Err(why) => Placement::Skip(why),
                }
            }
        }
    }

    pub fn placement(&self, s: &Scenario, v: VersionName) -> Placement {
        let required = s.required_capabilities();
        if let Some(why) = self.unsupported(v, &required) {
            return Placement::Skip(why);
        }
        let not_isolatable = isolate::not_isolatable(s);
        let own = required.iter().any(|c| c == "restart") || not_isolatable.is_some();
        let shared = match not_isolatable {
            Some(why) => Placement::Exclusive(why),
            None => Placement::Shared,
        };
        self.place(&s.broker, &s.broker_written, own, shared)
    }

    /// A workload goes on the shared broker under prefixes, or on one of
    /// its own when it restarts the broker or changes its settings.
    pub fn workload_placement(&self, w: &Workload, v: VersionName) -> Placement {
        let required = w.required_capabilities();
        if let Some(why) = self.unsupported(v, &required) {
            return Placement::Skip(why);
        }
        let own = required.iter().any(|c| c == "restart");
        self.place(&w.broker, &w.broker_written, own, Placement::Shared)
    }

    /// A run's own tag, for its prefixes.
    fn next_tag(&self) -> String {
        let n = self.next_run.fetch_add(1, Ordering::Relaxed);
        format!("{}{}", self.tag, base36(n))
    }

    /// Where the broker every run shares listens for `v`, and the TLS to
    /// use there.
    fn shared_endpoint(&self, v: VersionName) -> (SocketAddr, Option<Tls>) {
        match &self.target {
            Target::Url { addr, tls, .. } => (*addr, tls.clone()),
            Target::Managed { shared, .. } => (lock(shared).addr_for(v), None),
        }
    }

    /// One attempt of a run on the shared broker (under `tag`'s prefixes,
    /// or alone on a URL broker), cleaned up after; `Err` if it cannot be
    /// placed there.
    fn shared_once<B: engine::Backend>(
        &self,
        s: &Scenario,
        v: VersionName,
        seed: u64,
        placement: &Placement,
        tag: &str,
        make: impl FnOnce() -> Result<B, String>,
    ) -> Result<RunResult, String> {
        let (addr, tls) = self.shared_endpoint(v);
        let mut scenario = match placement {
            Placement::Shared => isolate::isolate(s, tag)?,
            _ => s.clone(),
        };
        isolate::with_credentials(
            &mut scenario,
            self.username.as_deref(),
            self.password.as_deref(),
        );
        let mut result = engine::run_with(&scenario, v, seed, make);
        let left = isolate::leftovers(&scenario);
        if let Err(e) = self.clean_up(addr, tls.as_ref(), v, &left, tag) {
            let at = result.trace.entries.last().map_or(0, |e| e.at_ms);
            let mut note = |what: String| {
                result
                    .trace
                    .push(at, "gauntlet", record::trace::Kind::Event(what))
            };
            note(format!("clean-up failed: {e}"));
            if let Some(what) = self.revive(v, tag) {
                note(what.clone());
                // Its steps held, but the broker went down during
                // the run or at its end: whether this run brought
                // it down, or another beside it, is unknown.
                if result.passed() {
                    result.advisories.push(record::advisory::Advisory {
                        rule: "the broker must keep serving the clients it has not \
                               closed for a reason of theirs"
                            .into(),
                        what,
                        readings: Vec::new(),
                        step: 0,
                        line: 0,
                    });
                }
            }
        }
        Ok(result)
    }

    /// After a run on the shared broker whose clean-up failed: if the
    /// broker no longer answers a CONNECT of `v`, a profile's broker is
    /// started again (on the same ports, empty), so that one packet that
    /// brings it down fails the run that sent it (and any running beside
    /// it) rather than every run after. What happened, for the run's trace.
    fn revive(&self, v: VersionName, tag: &str) -> Option<String> {
        let (addr, tls) = self.shared_endpoint(v);
        let id = format!("{tag}-alive");
        let answers =
            |addr| cleanup::connack_as(addr, tls.as_ref(), v.protocol(), &id, &self.credentials());
        let Err(dead) = answers(addr) else {
            return None;
        };
        let Target::Managed { shared, .. } = &self.target else {
            return Some(format!("the broker no longer answers a CONNECT: {dead}"));
        };
        // One run restarts it; the others, waiting here, find it answering.
        let mut instance = lock(shared);
        if answers(addr).is_ok() {
            return Some(format!(
                "the broker stopped answering a CONNECT ({dead}) and was started again"
            ));
        }
        let log = instance.log_tail();
        Some(match instance.restart(false) {
            Ok(()) => {
                self.restarts.fetch_add(1, Ordering::AcqRel);
                format!(
                    "the broker stopped answering a CONNECT ({dead}); started it again, empty{}",
                    if log.is_empty() {
                        String::new()
                    } else {
                        format!("; the end of its log:\n{log}")
                    }
                )
            }
            Err(e) => format!(
                "the broker stopped answering a CONNECT ({dead}) and did not start again: {e}"
            ),
        })
    }

    /// gauntlet's own connections log in as `--username`/`--password` say.
    fn credentials(&self) -> Credentials<'_> {
        Credentials {
            username: self.username.as_deref(),
            password: self.password.as_deref(),
        }
    }

    /// Clears what a run on the shared broker left there.
    fn clean_up(
        &self,
        addr: SocketAddr,
        tls: Option<&Tls>,
        v: VersionName,
        left: &isolate::Leftovers,
        tag: &str,
    ) -> Result<(), String> {
        cleanup::clean(addr, tls, v.protocol(), left, tag, &self.credentials())
    }

    /// Runs one scenario version where `placement` (from `placement`) says.
    pub fn run(
        &self,
        s: &Scenario,
        v: VersionName,
        seed: u64,
        placement: &Placement,
    ) -> Verdict<RunResult> {
        let tag = self.next_tag();
        let latency = s.network.latency.map(|r| (r.min.0, r.max.0));
        let connect_timeout =
            Duration::from_millis(s.timeout.map_or(engine::DEFAULT_TIMEOUT_MS, |d| d.millis()));
        let names: Vec<String> = s.clients.keys().cloned().collect();
        let (addr, tls) = self.shared_endpoint(v);
        let world = |broker, instance| {
            let link = Link {
                seed,
                broker,
                tls: tls.clone(),
                latency,
                connect_timeout,
            };
            TcpWorld::new(&link, &names, v.protocol(), instance)
        };
        match placement {
            Placement::Skip(why) => Verdict::Skipped(why.clone()),
            Placement::Dedicated(settings) => {
                let Target::Managed { profile, .. } = &self.target else {
                    return Verdict::Skipped("no profile to start a broker from".into());
                };
                let mut instance = match Instance::start(profile, settings) {
                    Ok(i) => i,
                    Err(e) => {
                        return Verdict::Ran(engine::run_with(s, v, seed, || Err::<TcpWorld, _>(e)))
                    }
                };
                let addr = instance.addr_for(v);
                let mut scenario = s.clone();
                isolate::with_credentials(
                    &mut scenario,
                    self.username.as_deref(),
                    self.password.as_deref(),
                );
                Verdict::Ran(engine::run_with(&scenario, v, seed, || {
                    world(addr, Some(&mut instance))
                }))
            }
            Placement::Shared | Placement::Exclusive(_) => {
                let attempt = |tag: &str| {
                    let restarts = self.restarts.load(Ordering::Acquire);
                    let r = self.shared_once(s, v, seed, placement, tag, || world(addr, None));
                    // Another run started the broker again while this one
                    // ran: what it found may be that, not its own doing.
                    (r, self.restarts.load(Ordering::Acquire) != restarts)
                };
                match attempt(&tag) {
                    (Ok(mut first), true) if !first.passed() => {
                        let again = self.next_tag();
                        match attempt(&again) {
                            (Ok(mut second), _) => {
                                let note = format!(
                                    "run again: the broker was started again while the first \
                                     attempt ran, and it failed ({})",
                                    failure_text(&first)
                                );
                                let at = second.trace.entries.first().map_or(0, |e| e.at_ms);
                                second.trace.entries.insert(
                                    0,
                                    record::trace::Entry {
                                        at_ms: at,
                                        who: "gauntlet".into(),
                                        kind: record::trace::Kind::Event(note),
                                    },
                                );
                                Verdict::Ran(second)
                            }
                            (Err(why), _) => {
                                first
                                    .trace
                                    .push(0, "gauntlet", record::trace::Kind::Event(why));
                                Verdict::Ran(first)
                            }
                        }
                    }
                    (Ok(result), _) => Verdict::Ran(result),
                    (Err(why), _) => Verdict::Skipped(why),
                }
            }
        }
    }
}

/// A failed run's message, for a note.
fn failure_text(r: &RunResult) -> String {
    match &r.outcome {
        record::script::Outcome::Failed(f) => format!("step {}: {}", f.step, f.message),
        record::script::Outcome::Passed => "passed".into(),
    }
}

/// The shared instance; a run that panicked holding it left it as it was.
fn lock(shared: &Mutex<Instance>) -> MutexGuard<'_, Instance> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::parse_url;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("mqtt://localhost:1883"),
            Some((false, "localhost", 1883))
        );
        assert_eq!(
            parse_url("mqtts://b.example"),
            Some((true, "b.example", 8883))
        );
        assert_eq!(parse_url("mqtt://[::1]:1884"), Some((false, "::1", 1884)));
        assert_eq!(parse_url("mqtt://h:x"), Some((false, "h:x", 0)));
        assert_eq!(parse_url("mosquitto"), None);
    }
}
