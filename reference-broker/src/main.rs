//! `reference-broker --listen 127.0.0.1:1883 [--config FILE] [--password-file FILE] [--store DIR]`

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use reference_broker::server;
use reference_broker::store::{MemoryStore, RedbStore, Store};
use reference_broker::{Broker, Config};

/// The gauntlet reference MQTT broker: a strict reading of MQTT 3.1.1 and 5.0.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:1883")]
    listen: SocketAddr,
    /// YAML file of settings (limits, users, refused filters); see `Config`.
    #[arg(long)]
    config: Option<PathBuf>,
    /// File of `user:password` lines (blank lines and `#` comments ignored);
    /// with it, a client that gives a user name must give that password.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Directory where sessions, retained and in-flight messages are kept
    /// across restarts. Without it, state lives in memory only.
    #[arg(long)]
    store: Option<PathBuf>,
    /// Log filter, as RUST_LOG (e.g. `debug`, `reference_broker=trace`).
    #[arg(long, default_value = "info")]
    log: String,
}

fn load_config(path: &Path) -> Result<Config, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let config: Config = if text.trim().is_empty() {
        Config::default()
    } else {
        serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
    };
    config
        .validate()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(config)
}

/// Reads `user:password` lines; a line without `:` is an error naming it.
fn load_passwords(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let mut users = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((user, password)) = line.split_once(':') else {
            return Err(format!(
                "{}:{}: expected `user:password`, found {line:?}",
                path.display(),
                n + 1
            ));
        };
        if user.is_empty() {
            return Err(format!("{}:{}: empty user name", path.display(), n + 1));
        }
        users.push((user.to_owned(), password.to_owned()));
    }
    Ok(users)
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reference-broker: {e}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn run(args: Args) -> Result<(), String> {
    let mut config = match &args.config {
        Some(path) => load_config(path)?,
        None => Config::default(),
    };
    if let Some(path) = &args.password_file {
        config.users.extend(load_passwords(path)?);
    }
    let store: Box<dyn Store> = match &args.store {
        Some(dir) => {
            Box::new(RedbStore::open(dir).map_err(|e| format!("store {}: {e}", dir.display()))?)
        }
        None => Box::new(MemoryStore::new()),
    };
    let snapshot = store.load().map_err(|e| format!("store: {e}"))?;
    // Wall-clock milliseconds, so that stored expiry deadlines mean the same
    // after a restart.
    let epoch_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let sessions = snapshot.sessions.len();
    let broker = Broker::restore(config, snapshot, epoch_ms);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let handle = server::spawn(broker, store, epoch_ms);
    // Signal handlers go in before the address is printed: a SIGTERM sent as
    // soon as it is read must be a clean shutdown, not the default action.
    let shutdown = shutdown_signal().map_err(|e| format!("cannot handle signals: {e}"))?;
    tracing::info!(%addr, restored_sessions = sessions, "listening");
    // Tests and scripts read the address from here.
    println!("listening on {addr}");

    let accept = server::serve_listener(listener, handle.clone());
    tokio::select! {
        r = accept => {
            r.map_err(|e| format!("accept: {e}"))?;
            // The broker stopped by itself: it could not persist its state.
            return Err("broker stopped: cannot persist state (see the log)".into());
        }
        () = shutdown => {
            tracing::info!("shutting down");
            handle.shutdown().await;
        }
    }
    Ok(())
}

/// Installs the SIGINT and SIGTERM handlers now; the future completes on
/// the first of them.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
