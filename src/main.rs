//! `gauntlet`: run MQTT scenarios against the reference broker in a
//! deterministic simulated network.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mqtt_gauntlet::cli;

#[derive(Parser)]
#[command(version, about = "MQTT conformance and chaos test harness")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run scenarios (default: everything under scenarios/) against the
    /// reference broker in simulation.
    Run {
        /// Scenario files or directories.
        paths: Vec<PathBuf>,
        /// Seed of the simulation (the same seed gives the same run).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Only this MQTT version (3.1.1 or 5).
        #[arg(long)]
        version: Option<String>,
        /// Write JUnit XML (junit.xml) and JSON (results.json) here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Only runs whose name contains this.
        #[arg(long)]
        filter: Option<String>,
    },
    /// Run one scenario again and print its whole trace.
    Replay {
        file: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The version to replay (default: each the scenario lists).
        #[arg(long)]
        version: Option<String>,
    },
    /// Check scenario files without running them.
    Check { paths: Vec<PathBuf> },
}

fn main() -> ExitCode {
    let args = Cli::parse();
    let result = match args.command {
        Command::Run {
            paths,
            seed,
            version,
            report,
            filter,
        } => cli::run(cli::RunOptions {
            paths,
            seed,
            version,
            report,
            filter,
        }),
        Command::Replay {
            file,
            seed,
            version,
        } => cli::replay(&file, seed, version.as_deref()),
        Command::Check { paths } => cli::check(&paths),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("gauntlet: {e}");
            ExitCode::from(2)
        }
    }
}
