//! Brokers gauntlet does not ship are installed on first use, into a folder
//! of their own in gauntlet's cache (never the repository): the profile's
//! `install.steps` run there once, under a lock so that two gauntlets do
//! not install at the same time, and a marker file says it is done. A
//! failed install leaves no marker, so the next use starts afresh.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::profile::{Install, Profile};

/// Written into the folder once every step has succeeded.
const MARKER: &str = ".installed";

/// gauntlet's cache: `$GAUNTLET_CACHE`, else `$XDG_CACHE_HOME/gauntlet`,
/// else `~/.cache/gauntlet`.
pub fn cache_root() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("GAUNTLET_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("gauntlet");
    }
    match var("HOME") {
        Some(home) => PathBuf::from(home).join(".cache").join("gauntlet"),
        None => std::env::temp_dir().join("gauntlet-cache"),
    }
}

/// Where `install` puts its broker.
pub fn folder(install: &Install) -> PathBuf {
    cache_root().join("brokers").join(&install.key)
}

/// The profile's broker folder, installed if it was not yet; `None` for a
/// profile that installs nothing (its broker is on PATH).
pub fn ensure(profile: &Profile) -> Result<Option<PathBuf>, String> {
    let Some(install) = &profile.install else {
        return Ok(None);
    };
    let dir = folder(install);
    if dir.join(MARKER).is_file() {
        return Ok(Some(dir));
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let deadline = Instant::now() + install.timeout.0;
    let _lock = Lock::take(&parent.join(format!("{}.lock", install.key)), deadline)?;
    // Another gauntlet may have finished it while this one waited.
    if dir.join(MARKER).is_file() {
        return Ok(Some(dir));
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| format!("cannot clear a failed install in {}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let log_path = parent.join(format!("{}.install.log", install.key));
    eprintln!(
        "installing the {} broker into {} (first use; log in {})",
        profile.name,
        dir.display(),
        log_path.display()
    );
    let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let fill = |a: &str| a.replace("{cache}", &dir.display().to_string());
    for step in &install.steps {
        let args: Vec<String> = step.iter().map(|a| fill(a)).collect();
        let shown = args.join(" ");
        let fail = |what: String| {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(15)..].join("\n");
            format!(
                "installing the {} broker: `{shown}` {what}; its output:\n{tail}",
                profile.name
            )
        };
        let out = log.try_clone().map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let mut child = Command::new(&args[0])
            .args(&args[1..])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| fail(format!("cannot start: {e}")))?;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(fail(format!(
                        "took longer than the install timeout ({} s)",
                        install.timeout.0.as_secs()
                    )));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => return Err(fail(format!("cannot be waited for: {e}"))),
            }
        };
        if !status.success() {
            return Err(fail(format!("failed ({status})")));
        }
    }
    std::fs::write(dir.join(MARKER), install.steps.len().to_string())
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(Some(dir))
}

/// An exclusive lock on a file, released when dropped (or when the process
/// dies: the kernel drops it).
struct Lock {
    _file: File,
}

impl Lock {
    fn take(path: &Path, deadline: Instant) -> Result<Lock, String> {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            loop {
                // SAFETY: flock(2) on a descriptor this function owns.
                let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
                if r == 0 {
                    break;
                }
                if Instant::now() >= deadline {
                    return Err(format!(
                        "another gauntlet has been installing into {} for too long (lock held)",
                        path.display()
                    ));
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        #[cfg(not(unix))]
        let _ = deadline;
        Ok(Lock { _file: file })
    }
}
