//! The reference broker over real loopback TCP with the Eclipse Mosquitto
//! command-line clients (`mosquitto_pub`, `mosquitto_sub` from Debian's
//! `mosquitto-clients`), MQTT 3.1.1 (`-V mqttv311`) and 5.0 (`-V mqttv5`):
//! every scenario runs once per version (`<scenario>::v311`, `::v5`).
//!
//! Where the clients are not installed, each test prints
//! `skipped: mosquitto_sub not found` to stderr and passes.
//!
//! Every wait has a deadline: subscribers run with `-C N -W SECS`, and the
//! test gives up on them (and kills them) shortly after.

mod tcp_support;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tcp_support::BrokerProcess;

/// `mosquitto_sub -W`: how long a subscriber runs at most.
const SUB_SECS: u64 = 10;
/// How long the test waits for a client process.
const WAIT: Duration = Duration::from_secs(SUB_SECS + 2);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    V311,
    V5,
}

impl Proto {
    fn arg(self) -> &'static str {
        match self {
            Proto::V311 => "mqttv311",
            Proto::V5 => "mqttv5",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Proto::V311 => "v311",
            Proto::V5 => "v5",
        }
    }
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// False (after saying so on stderr) when the clients are missing.
fn clients_available() -> bool {
    // stdbuf (coreutils) makes mosquitto_sub's debug output line-buffered,
    // so the test sees "Subscribed" as soon as the SUBACK arrives.
    for program in ["mosquitto_sub", "mosquitto_pub", "stdbuf"] {
        if find_in_path(program).is_none() {
            eprintln!("skipped: {program} not found");
            return false;
        }
    }
    true
}

/// A message as `mosquitto_sub -F 'MSG|%q|%r|%t|%p'` printed it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Msg {
    qos: u8,
    retain: bool,
    topic: String,
    payload: String,
}

fn msg(topic: &str, payload: &str, qos: u8, retain: bool) -> Msg {
    Msg {
        qos,
        retain,
        topic: topic.to_owned(),
        payload: payload.to_owned(),
    }
}

const FORMAT: &str = "MSG|%q|%r|%t|%p";

fn parse_msg(line: &str) -> Option<Msg> {
    let rest = line.strip_prefix("MSG|")?;
    let mut parts = rest.splitn(4, '|');
    let qos = parts.next()?.parse().ok()?;
    let retain = parts.next()? == "1";
    let topic = parts.next()?.to_owned();
    let payload = parts.next()?.to_owned();
    Some(Msg {
        qos,
        retain,
        topic,
        payload,
    })
}

/// Waits for a child with a deadline; kills it when the deadline passes.
fn wait_with_deadline(child: &mut Child, what: &str) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) if started.elapsed() < WAIT => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not finish within {WAIT:?}");
            }
        }
    }
}

/// `mosquitto_pub`, run to completion: for QoS 1 and 2 it exits once the
/// flow is complete.
fn publish(broker: &BrokerProcess, proto: Proto, topic: &str, qos: u8, args: &[&str]) {
    let mut child = Command::new("mosquitto_pub")
        .args(["-h", &broker.host(), "-p", &broker.port().to_string()])
        .args(["-V", proto.arg(), "-q", &qos.to_string(), "-t", topic])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mosquitto_pub");
    let status = wait_with_deadline(&mut child, "mosquitto_pub");
    let mut out = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut out);
    }
    assert!(
        status.success(),
        "mosquitto_pub -V {} -q {qos} -t {topic} {args:?} failed ({status}): {out}",
        proto.arg()
    );
}

fn publish_msg(broker: &BrokerProcess, proto: Proto, topic: &str, qos: u8, payload: &str) {
    publish(broker, proto, topic, qos, &["-m", payload]);
}

/// A running `mosquitto_sub`, subscribed (its SUBACK seen) once `start`
/// returns.
struct Sub {
    child: Child,
    lines: mpsc::Receiver<String>,
    count: usize,
    what: String,
    /// Messages printed while the test waited for something else.
    pending: VecDeque<Msg>,
    /// Everything it printed, for failure messages.
    transcript: Vec<String>,
}

impl Sub {
    /// `mosquitto_sub -V .. -q QOS -t FILTER.. -C COUNT -W SUB_SECS ARGS..`
    fn start(
        broker: &BrokerProcess,
        proto: Proto,
        filters: &[&str],
        qos: u8,
        count: usize,
        args: &[&str],
    ) -> Sub {
        let mut cmd = Command::new("stdbuf");
        cmd.args(["-oL", "mosquitto_sub", "-d"])
            .args(["-h", &broker.host(), "-p", &broker.port().to_string()])
            .args(["-V", proto.arg(), "-q", &qos.to_string()])
            .args(["-C", &count.to_string(), "-W", &SUB_SECS.to_string()])
            .args(["-F", FORMAT]);
        for f in filters {
            cmd.args(["-t", f]);
        }
        let mut child = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mosquitto_sub");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout piped");
        let err_tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = child.stderr.take().expect("stderr piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if err_tx.send(format!("stderr: {line}")).is_err() {
                    break;
                }
            }
        });
        let mut sub = Sub {
            child,
            lines,
            count,
            what: format!(
                "mosquitto_sub -V {} -q {qos} {filters:?} {args:?}",
                proto.arg()
            ),
            pending: VecDeque::new(),
            transcript: Vec::new(),
        };
        // "Subscribed (mid: 1): 2, 1" lists the granted QoS per filter.
        let granted = sub
            .until(|line| line.strip_prefix("Subscribed (mid: ").map(str::to_owned))
            .unwrap_or_else(|| sub.fail("no SUBACK"));
        let granted: Vec<&str> = granted
            .split_once("): ")
            .map(|(_, g)| g.split(", ").collect())
            .unwrap_or_default();
        let want = vec![qos.to_string(); filters.len()];
        assert_eq!(granted, want, "{}: granted QoS", sub.what);
        sub
    }

    fn fail(&self, why: &str) -> ! {
        panic!(
            "{}: {why}; it printed:\n{}",
            self.what,
            self.transcript.join("\n")
        );
    }

    /// Reads lines until `f` picks one; None at the end of output or the
    /// deadline. Messages it passes over are kept for `messages`.
    fn until<T>(&mut self, mut f: impl FnMut(&str) -> Option<T>) -> Option<T> {
        let started = Instant::now();
        loop {
            let left = WAIT.saturating_sub(started.elapsed());
            let line = self.lines.recv_timeout(left).ok()?;
            self.transcript.push(line.clone());
            if let Some(t) = f(&line) {
                return Some(t);
            }
            if let Some(m) = parse_msg(&line) {
                self.pending.push_back(m);
            }
        }
    }

    /// The `count` messages it was started for; it then exits by itself.
    fn messages(mut self) -> Vec<Msg> {
        let mut got: Vec<Msg> = self.pending.drain(..).collect();
        while got.len() < self.count {
            match self.until(parse_msg) {
                Some(m) => got.push(m),
                None => self.fail(&format!(
                    "got {} of {} messages: {got:?}",
                    got.len(),
                    self.count
                )),
            }
        }
        let status = wait_with_deadline(&mut self.child, &self.what);
        if !status.success() {
            self.fail(&format!("exited with {status}"));
        }
        got
    }

    /// SIGKILL: the connection ends without DISCONNECT.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Sub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a scenario once per protocol version: `name::v311` and `name::v5`.
macro_rules! both_versions {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn v311() {
                if super::clients_available() {
                    super::$name(super::Proto::V311)
                }
            }

            #[test]
            fn v5() {
                if super::clients_available() {
                    super::$name(super::Proto::V5)
                }
            }
        }
    )*};
}

both_versions!(
    qos_round_trips,
    wildcard_routing,
    retained_messages,
    will_on_killed_client,
    persistent_session,
);

/// QoS 0, 1 and 2 to a subscriber at QoS 2, delivered at the QoS published;
/// and to one at QoS 1, delivered at most at QoS 1.
fn qos_round_trips(proto: Proto) {
    let mut broker = BrokerProcess::start();
    let topic = format!("mosq/{}/qos", proto.tag());
    let sub2 = Sub::start(&broker, proto, &[&topic], 2, 3, &[]);
    let sub1 = Sub::start(&broker, proto, &[&topic], 1, 3, &[]);
    for qos in 0..=2u8 {
        publish_msg(&broker, proto, &topic, qos, &format!("at QoS {qos}"));
    }
    // Each mosquitto_pub is its own connection, and one at QoS 0 does not
    // wait for anything: the order across them is not promised.
    let sorted = |mut v: Vec<Msg>| {
        v.sort_by(|a, b| a.payload.cmp(&b.payload));
        v
    };
    let want: Vec<Msg> = (0..=2u8)
        .map(|q| msg(&topic, &format!("at QoS {q}"), q, false))
        .collect();
    assert_eq!(sorted(sub2.messages()), want, "subscriber at QoS 2");
    let want: Vec<Msg> = (0..=2u8)
        .map(|q| msg(&topic, &format!("at QoS {q}"), q.min(1), false))
        .collect();
    assert_eq!(sorted(sub1.messages()), want, "subscriber at QoS 1");
    broker.assert_running();
}

/// `+`, `#`, and no `$` topics for filters starting with a wildcard
/// (MQTT-4.7.2-1).
fn wildcard_routing(proto: Proto) {
    let mut broker = BrokerProcess::start();
    let cases: [(&str, &[&str]); 5] = [
        (
            "maison/+/temperature",
            &["maison/salon/temperature", "maison/fin/temperature"],
        ),
        (
            "maison/#",
            &[
                "maison/salon/temperature",
                "maison/salon/humidite",
                "maison/cuisine/four/temperature",
                "maison",
                "maison/fin/temperature",
            ],
        ),
        (
            "#",
            &[
                "maison/salon/temperature",
                "maison/salon/humidite",
                "maison/cuisine/four/temperature",
                "maison",
                "jardin/temperature",
                "maison/fin/temperature",
                "fin/temperature",
            ],
        ),
        ("+/temperature", &["jardin/temperature", "fin/temperature"]),
        ("$maison/#", &["$maison/temperature"]),
    ];
    let subs: Vec<Sub> = cases
        .iter()
        .map(|(filter, want)| Sub::start(&broker, proto, &[filter], 1, want.len(), &[]))
        .collect();
    for topic in [
        "maison/salon/temperature",
        "maison/salon/humidite",
        "maison/cuisine/four/temperature",
        "maison",
        "jardin/temperature",
        "$maison/temperature",
        // Sentinels: nothing comes after them.
        "maison/fin/temperature",
        "fin/temperature",
    ] {
        publish_msg(&broker, proto, topic, 1, topic);
    }
    for (sub, (filter, want)) in subs.into_iter().zip(cases) {
        let got: Vec<String> = sub.messages().into_iter().map(|m| m.topic).collect();
        assert_eq!(got, want, "messages for a subscription to {filter:?}");
    }
    broker.assert_running();
}

/// `-r` keeps the last message for later subscribers, which get it with
/// RETAIN set; `-r -n` clears it.
fn retained_messages(proto: Proto) {
    let mut broker = BrokerProcess::start();
    let t = proto.tag();
    let topic = format!("maison/{t}/salon/temperature");
    let filter = format!("maison/{t}/#");
    publish(&broker, proto, &topic, 1, &["-r", "-m", "19.0"]);
    publish(&broker, proto, &topic, 1, &["-r", "-m", "21.5"]);

    let late = Sub::start(&broker, proto, &[&filter], 1, 2, &[]);
    publish(&broker, proto, &topic, 1, &["-r", "-m", "22.0"]);
    assert_eq!(
        late.messages(),
        vec![
            msg(&topic, "21.5", 1, true),
            // Live: RETAIN 0 (MQTT-3.3.1-9 / 5.0 MQTT-3.3.1-12).
            msg(&topic, "22.0", 1, false),
        ]
    );

    // Retained at QoS 0, delivered at QoS 0 to a QoS 1 subscription.
    let qos0_topic = format!("maison/{t}/qos0");
    publish(&broker, proto, &qos0_topic, 0, &["-r", "-m", "q0"]);
    let q0 = Sub::start(&broker, proto, &[&qos0_topic], 1, 1, &[]);
    assert_eq!(q0.messages(), vec![msg(&qos0_topic, "q0", 0, true)]);

    publish(&broker, proto, &topic, 1, &["-r", "-n"]);
    publish(&broker, proto, &qos0_topic, 1, &["-r", "-n"]);
    let later = Sub::start(&broker, proto, &[&filter], 1, 1, &[]);
    let sentinel = format!("maison/{t}/fin");
    publish_msg(&broker, proto, &sentinel, 1, "fin");
    assert_eq!(
        later.messages(),
        vec![msg(&sentinel, "fin", 1, false)],
        "nothing retained after `-r -n`"
    );
    broker.assert_running();
}

/// A client killed with SIGKILL has its will published; one that
/// disconnects normally does not.
fn will_on_killed_client(proto: Proto) {
    let mut broker = BrokerProcess::start();
    let t = proto.tag();
    let watched = format!("will/{t}/#");
    let watcher = Sub::start(&broker, proto, &[&watched], 1, 2, &[]);

    let victim_will = format!("will/{t}/victim");
    let victim = Sub::start(
        &broker,
        proto,
        &[&format!("quiet/{t}")],
        0,
        1,
        &[
            "--will-topic",
            &victim_will,
            "--will-payload",
            "killed",
            "--will-qos",
            "1",
        ],
    );
    victim.kill();

    // This one gets its one message and exits with DISCONNECT.
    let polite_topic = format!("polite/{t}");
    let polite = Sub::start(
        &broker,
        proto,
        &[&polite_topic],
        1,
        1,
        &[
            "--will-topic",
            &format!("will/{t}/polite"),
            "--will-payload",
            "must not appear",
            "--will-qos",
            "1",
        ],
    );
    publish_msg(&broker, proto, &polite_topic, 1, "bye");
    assert_eq!(polite.messages(), vec![msg(&polite_topic, "bye", 1, false)]);

    let sentinel = format!("will/{t}/sentinel");
    publish_msg(&broker, proto, &sentinel, 1, "after");
    assert_eq!(
        watcher.messages(),
        vec![
            msg(&victim_will, "killed", 1, false),
            msg(&sentinel, "after", 1, false),
        ],
        "the killed client's will, and none for the one that disconnected"
    );
    broker.assert_running();
}

/// `-c -i ID` (5.0: with the default Session Expiry Interval `-c` implies):
/// QoS 1 messages published while the subscriber is away reach it when it
/// comes back.
fn persistent_session(proto: Proto) {
    let mut broker = BrokerProcess::start();
    let t = proto.tag();
    let id = format!("mosq-persistent-{t}");
    let topic = format!("persist/{t}");
    let gone = format!("persist/{t}/gone");
    let watcher = Sub::start(&broker, proto, &[&gone], 1, 1, &[]);
    let away = Sub::start(
        &broker,
        proto,
        &[&topic],
        1,
        1,
        &[
            "-c",
            "-i",
            &id,
            "--will-topic",
            &gone,
            "--will-payload",
            "x",
        ],
    );
    away.kill();
    // The will says the broker has seen the connection go.
    assert_eq!(watcher.messages(), vec![msg(&gone, "x", 0, false)]);

    for i in 1..=3 {
        publish_msg(&broker, proto, &topic, 1, &format!("while away {i}"));
    }
    // Subscribed to something else: the session's subscription is what
    // delivers. (The queued messages may come before the SUBACK, so one more
    // is published after it, for -C not to stop too early.)
    let other = format!("persist/{t}/other");
    let back = Sub::start(&broker, proto, &[&other], 1, 4, &["-c", "-i", &id]);
    publish_msg(&broker, proto, &topic, 1, "back");
    let mut want: Vec<Msg> = (1..=3)
        .map(|i| msg(&topic, &format!("while away {i}"), 1, false))
        .collect();
    want.push(msg(&topic, "back", 1, false));
    assert_eq!(back.messages(), want);
    broker.assert_running();
}
