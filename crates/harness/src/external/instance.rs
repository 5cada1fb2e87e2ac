//! One running broker started from a profile: on a free port, in a
//! directory of its own, with its output in `{dir}/broker.log`. It can be
//! crashed (SIGKILL), restarted on the same port with or without its store,
//! and is always stopped when dropped — no broker outlives gauntlet's run.

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::profile::Profile;
use scenario::VersionName;

pub struct Instance {
    profile: Profile,
    /// Where the profile installed its broker, if it installs one.
    cache: Option<PathBuf>,
    port: Reserved,
    /// A second port, for MQTT 5.0, when the profile's templates use
    /// `{port5}` (a broker that serves each version on a listener of its own).
    port5: Option<Reserved>,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

/// Why a broker did not come up: it exited (worth another try on another
/// port), or anything else.
enum Start {
    Exited(String),
    Failed(String),
}

/// How many times a broker that exits at start is started again.
const START_ATTEMPTS: usize = 3;

/// The ports of the brokers this process runs, reserved for as long as
/// their `Instance` lives: a broker crashed and about to be restarted on
/// its port leaves it free for a moment, and another instance starting
/// then must not be handed it (its own broker would fail to bind, while
/// the readiness check found the other one listening there).
static RESERVED: std::sync::Mutex<std::collections::BTreeSet<u16>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

fn reserved() -> std::sync::MutexGuard<'static, std::collections::BTreeSet<u16>> {
    RESERVED.lock().unwrap_or_else(|e| e.into_inner())
}

/// A port held in `RESERVED` for as long as this lives: `Instance` stops
/// its broker in its own `drop`, before its fields (this among them) drop.
struct Reserved(u16);

impl Drop for Reserved {
    fn drop(&mut self) {
        reserved().remove(&self.0);
    }
}

/// A port nobody listens on now and no other instance of this process
/// holds, reserved until the guard is dropped. Another process could take
/// it before the broker binds it; the broker then fails to start and says so.
fn free_port() -> Result<Reserved, String> {
    // Listeners kept open while looking, so the kernel offers another
    // port each time.
    let mut held = Vec::new();
    for _ in 0..64 {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("cannot find a free port: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("cannot find a free port: {e}"))?
            .port();
        if reserved().insert(port) {
            return Ok(Reserved(port));
        }
        held.push(listener);
    }
    Err("cannot find a free port: every one offered is another broker's".into())
}

/// `program` without a slash is looked up next to gauntlet's own binary
/// first (where cargo puts `reference-broker`), then on PATH.
fn resolve(program: &str) -> PathBuf {
    if !program.contains('/') {
        if let Some(dir) = std::env::current_exe().ok().and_then(|p| {
            let dir = p.parent()?.to_owned();
            // Test binaries live in target/<profile>/deps.
            Some(if dir.ends_with("deps") {
                dir.parent()?.to_owned()
            } else {
                dir
            })
        }) {
            let beside = dir.join(program);
            if beside.is_file() {
                return beside;
            }
        }
    }
    PathBuf::from(program)
}

impl Instance {
    /// Writes the profile's files with `settings` and starts the broker. A
    /// broker that exits at start is tried again on another port, up to
    /// `START_ATTEMPTS` times: the free port may have been taken meanwhile.
    pub fn start(profile: &Profile, settings: &str) -> Result<Instance, String> {
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            match Instance::start_once(profile, settings) {
                Ok(instance) => return Ok(instance),
                Err(Start::Exited(e)) => failures.push(e),
                Err(Start::Failed(e)) => return Err(e),
            }
        }
        Err(failures.join("\nthen "))
    }

    fn start_once(profile: &Profile, settings: &str) -> Result<Instance, Start> {
        let cache = super::install::ensure(profile).map_err(Start::Failed)?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("gauntlet-{}-", profile.name))
            .tempdir()
            .map_err(|e| Start::Failed(format!("cannot make a directory for the broker: {e}")))?;
        let uses_port5 = profile
            .start
            .command
            .iter()
            .chain(profile.start.files.values())
            .any(|t| t.contains("{port5}"));
        let port = free_port().map_err(Start::Failed)?;
        let port5 = uses_port5
            .then(free_port)
            .transpose()
            .map_err(Start::Failed)?;
        let mut instance = Instance {
            profile: profile.clone(),
            cache,
            port,
            port5,
            dir,
            child: None,
        };
        for (name, template) in &profile.start.files {
            let text = instance.fill(template).replace("{settings}", settings);
            let path = instance.dir.path().join(name);
            std::fs::write(&path, text)
                .map_err(|e| Start::Failed(format!("{}: {e}", path.display())))?;
        }
        instance.spawn()?;
        Ok(instance)
    }

    fn fill(&self, template: &str) -> String {
        let cache = self
            .cache
            .as_ref()
            .map_or(String::new(), |c| c.display().to_string());
        template
            .replace(
                "{port5}",
                &self.port5.as_ref().unwrap_or(&self.port).0.to_string(),
            )
            .replace("{port}", &self.port.0.to_string())
            .replace("{dir}", &self.dir.path().display().to_string())
            .replace("{cache}", &cache)
    }

    /// What the profile's `version_command` prints: its first line that
    /// has a digit in it (`mosquitto version 2.0.11`), trimmed.
    pub fn version(&self) -> Option<String> {
        let command = self.profile.version_command.as_ref()?;
        let args: Vec<String> = command.iter().map(|a| self.fill(a)).collect();
        let out = Command::new(resolve(args.first()?))
            .args(&args[1..])
            .stdin(Stdio::null())
            .output()
            .ok()?;
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        text.lines()
            .map(str::trim)
            .find(|l| l.chars().any(|c| c.is_ascii_digit()))
            .map(str::to_owned)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port.0))
    }

    /// Where clients of `version` connect.
    pub fn addr_for(&self, version: VersionName) -> SocketAddr {
        match (version, &self.port5) {
            (VersionName::V5, Some(p)) => SocketAddr::from(([127, 0, 0, 1], p.0)),
            _ => self.addr(),
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("broker.log")
    }

    /// The end of the broker's output, for error messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    fn spawn(&mut self) -> Result<(), Start> {
        let args: Vec<String> = self
            .profile
            .start
            .command
            .iter()
            .map(|a| self.fill(a))
            .collect();
        let program = resolve(&args[0]);
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| Start::Failed(format!("{}: {e}", self.log_path().display())))?;
        let log2 = log
            .try_clone()
            .map_err(|e| Start::Failed(format!("{}: {e}", self.log_path().display())))?;
        let mut command = Command::new(&program);
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::process::CommandExt;
            // SAFETY: prctl is async-signal-safe; it only sets a flag of
            // the child. The broker dies with the thread that started it,
            // even if gauntlet is killed and never runs `Drop`.
            unsafe {
                command.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        let child = command
            .args(&args[1..])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| {
                Start::Failed(format!(
                    "cannot start the {} broker ({}): {e}",
                    self.profile.name,
                    program.display()
                ))
            })?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), Start> {
        let timeout = self.profile.ready.timeout.0;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(child) = &mut self.child {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(Start::Exited(format!(
                        "the {} broker exited at start ({status}); its output:\n{}",
                        self.profile.name,
                        self.log_tail()
                    )));
                }
            }
            let open = |addr: SocketAddr| {
                TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
            };
            let port_open = open(self.addr())
                && self
                    .port5
                    .as_ref()
                    .is_none_or(|_| open(self.addr_for(VersionName::V5)));
            let log_seen = match &self.profile.ready.log {
                None => true,
                Some(needle) => std::fs::read_to_string(self.log_path())
                    .is_ok_and(|t| t.contains(needle.as_str())),
            };
            if port_open && log_seen {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Start::Failed(format!(
                    "the {} broker was not ready on {} within {} ms; its output:\n{}",
                    self.profile.name,
                    self.addr(),
                    timeout.as_millis(),
                    self.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL: the broker gets no chance to save anything.
    pub fn crash(&mut self) -> Result<(), String> {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        Ok(())
    }

    /// SIGTERM, then SIGKILL if it has not exited within the profile's
    /// stop timeout.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        #[cfg(unix)]
        // SAFETY: kill(2) on a child we own and have not reaped.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + self.profile.stop.timeout.0;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts again on the same port, crashing it first if it runs (as the
    /// simulated broker's restart does).
    pub fn restart(&mut self, keep_store: bool) -> Result<(), String> {
        self.crash()?;
        // A broker without `persistence` keeps nothing across a restart:
        // it comes back empty, which is what deleting the store asks for.
        let store = match &self.profile.start.store {
            _ if keep_store => None,
            Some(store) => Some(store.clone()),
            None if self.profile.has("persistence") => {
                return Err(format!(
                    "the {} profile has `persistence` but names no store to delete (start.store)",
                    self.profile.name
                ))
            }
            None => None,
        };
        if let Some(store) = store {
            let path = PathBuf::from(self.fill(&store));
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            match removed {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(format!("cannot delete {}: {e}", path.display()))
                }
                _ => {}
            }
        }
        self.spawn()
            .map_err(|(Start::Exited(e) | Start::Failed(e))| e)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // Stopped before the fields drop, so the ports are released only
        // once nothing of this broker listens on them.
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_another_instance_holds_is_never_handed_out() {
        // A port the kernel has just freed, as a crashed broker's is.
        let taken = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        reserved().insert(taken);
        let held = Reserved(taken);
        let ports: Vec<Reserved> = (0..50).map(|_| free_port().unwrap()).collect();
        let numbers: Vec<u16> = ports.iter().map(|p| p.0).collect();
        assert!(!numbers.contains(&taken));
        let distinct: std::collections::BTreeSet<u16> = numbers.iter().copied().collect();
        assert_eq!(distinct.len(), numbers.len());
        drop((held, ports));
    }

    #[test]
    fn a_reservation_ends_when_its_guard_drops() {
        // Port 0 is never handed out by the kernel, so no other test's
        // reservation can make this one pass or fail.
        reserved().insert(0);
        let guard = Reserved(0);
        assert!(reserved().contains(&0));
        drop(guard);
        assert!(!reserved().contains(&0));
    }
}
