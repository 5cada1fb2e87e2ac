//! Shared by the `tcp_*` integration tests: runs the built `reference-broker`
//! binary as a child process on a free loopback port and stops it on drop.
//!
//! The broker's stderr (its log) is collected and printed when a test
//! panics, so a failure shows what the broker did.

#![allow(dead_code)]

pub mod client;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How long the broker may take to print its address or to exit.
pub const PROCESS_DEADLINE: Duration = Duration::from_secs(15);

/// A running `reference-broker` process.
pub struct BrokerProcess {
    child: Option<Child>,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
    /// Copies stderr into `log`; done once the process has exited.
    log_reader: Option<std::thread::JoinHandle<()>>,
    /// Holds the config file (and the store, when the caller gave none).
    _dir: tempfile::TempDir,
}

#[derive(Default)]
pub struct Options<'a> {
    /// `--store DIR`; without it the broker keeps state in memory.
    pub store: Option<&'a Path>,
    /// YAML written to a temporary file and passed as `--config`.
    pub config: Option<&'a str>,
    /// `--log`; `debug` when unset.
    pub log: Option<&'a str>,
    /// RLIMIT_NOFILE for the broker process.
    pub max_open_files: Option<u64>,
    /// Lines written to a temporary file and passed as `--password-file`.
    pub passwords: Option<&'a str>,
}

impl BrokerProcess {
    /// A broker with state in memory and the default config.
    pub fn start() -> BrokerProcess {
        BrokerProcess::start_with(Options::default())
    }

    /// A broker persisting to `store`.
    pub fn start_with_store(store: &Path) -> BrokerProcess {
        BrokerProcess::start_with(Options {
            store: Some(store),
            ..Options::default()
        })
    }

    pub fn start_with(options: Options<'_>) -> BrokerProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_reference-broker"));
        cmd.arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--log")
            .arg(options.log.unwrap_or("debug"))
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(store) = options.store {
            cmd.arg("--store").arg(store);
        }
        if let Some(limit) = options.max_open_files {
            use std::os::unix::process::CommandExt;
            let limit = limit as libc::rlim_t;
            // SAFETY: only setrlimit(2), which is async-signal-safe, runs
            // between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    let r = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &r) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        if let Some(yaml) = options.config {
            let path: PathBuf = dir.path().join("broker.yaml");
            std::fs::write(&path, yaml).expect("write config");
            cmd.arg("--config").arg(path);
        }
        if let Some(lines) = options.passwords {
            let path: PathBuf = dir.path().join("passwords");
            std::fs::write(&path, lines).expect("write password file");
            cmd.arg("--password-file").arg(path);
        }
        let mut child = cmd.spawn().expect("spawn reference-broker");

        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().expect("stderr piped");
        let sink = log.clone();
        let log_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]);
                sink.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push_str(&text);
            }
        });

        // The address comes on stdout; keep draining it afterwards.
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let started = Instant::now();
        let addr = loop {
            let left = PROCESS_DEADLINE.saturating_sub(started.elapsed());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix("listening on ") {
                        break rest
                            .trim()
                            .parse::<SocketAddr>()
                            .unwrap_or_else(|e| panic!("bad address in {line:?}: {e}"));
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let status = child.wait().ok();
                    let _ = log_reader.join();
                    panic!(
                        "reference-broker did not print `listening on ADDR` within {:?} \
                         (exit: {status:?}); log:\n{}",
                        PROCESS_DEADLINE,
                        log.lock().unwrap_or_else(|e| e.into_inner())
                    );
                }
            }
        };
        BrokerProcess {
            child: Some(child),
            addr,
            log,
            log_reader: Some(log_reader),
            _dir: dir,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    /// What the broker logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits (within the deadline) until the log contains `needle`; the log
    /// arrives through a pipe, so it may lag behind what the broker did.
    pub fn wait_for_log(&self, needle: &str) -> bool {
        let started = Instant::now();
        while started.elapsed() < PROCESS_DEADLINE {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// Panics (with the log) if the broker has exited.
    pub fn assert_running(&mut self) {
        let child = self.child.as_mut().expect("broker process");
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "reference-broker exited unexpectedly ({status}); log:\n{}",
                self.log()
            );
        }
    }

    fn signal(&mut self, signal: libc::c_int) {
        let child = self.child.as_ref().expect("broker process");
        let pid = child.id() as libc::pid_t;
        // SAFETY: kill(2) on our own child, which has not been reaped yet
        // (we still own the `Child`), so the pid cannot have been reused.
        let r = unsafe { libc::kill(pid, signal) };
        assert_eq!(r, 0, "kill({pid}, {signal}) failed");
    }

    /// The whole log, once the process has exited.
    fn finish_log(&mut self) -> String {
        if let Some(reader) = self.log_reader.take() {
            let _ = reader.join();
        }
        self.log()
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("broker process");
        let started = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    self.finish_log();
                    return status;
                }
                Ok(None) if started.elapsed() < PROCESS_DEADLINE => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(None) | Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "reference-broker did not exit within {PROCESS_DEADLINE:?}; log:\n{}",
                        self.log()
                    );
                }
            }
        }
    }

    /// SIGTERM: a clean shutdown, which must exit with status 0.
    pub fn terminate(mut self) -> String {
        self.assert_running();
        self.signal(libc::SIGTERM);
        let status = self.wait_exit();
        assert!(
            status.success(),
            "reference-broker exited with {status} after SIGTERM; log:\n{}",
            self.log()
        );
        self.log()
    }

    /// SIGKILL: a crash, nothing gets to run.
    pub fn crash(mut self) {
        self.assert_running();
        self.signal(libc::SIGKILL);
        self.wait_exit();
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let exited = child.try_wait().ok().flatten();
        let _ = child.kill();
        let _ = child.wait();
        let log = self.finish_log();
        if std::thread::panicking() {
            eprintln!(
                "---- reference-broker log ({}) ----\n{log}---- end of log ----",
                self.addr,
            );
        } else if let Some(status) = exited {
            panic!("reference-broker exited unexpectedly ({status}); log:\n{log}");
        }
    }
}
