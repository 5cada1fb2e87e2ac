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

// Parsed once; the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run scenarios (default: everything under scenarios/) against the
    /// reference broker in simulation, or against a real broker.
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
        /// Run against a real broker: `mqtt://HOST:PORT`, `mqtts://HOST:PORT`,
        /// a built-in profile (`reference`, `mosquitto`: started on a free
        /// port and stopped afterwards) or a profile file.
        #[arg(long)]
        broker: Option<String>,
        /// Runs at once (each run gets its own client ids and topics).
        #[arg(long, short = 'j', default_value_t = 1)]
        jobs: usize,
        /// Known failures of the broker (YAML): they do not fail the run;
        /// a listed failure that now passes does.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// mqtts://: trust the CA certificates in this PEM file (default:
        /// the web's root CAs).
        #[arg(long)]
        ca: Option<PathBuf>,
        /// mqtts://: accept any certificate (no verification).
        #[arg(long)]
        insecure: bool,
        /// User name for clients whose scenario gives none.
        #[arg(long)]
        username: Option<String>,
        #[arg(long)]
        password: Option<String>,
        /// For a broker given by URL: what it can do beyond what every
        /// broker must, comma-separated (see `gauntlet capabilities`).
        #[arg(long, value_delimiter = ',')]
        capabilities: Vec<String>,
    },
    /// Run the library against several brokers and write one matrix of
    /// the results (comparison.md, comparison.json).
    Compare(cli::CompareOptions),
    /// List the capabilities scenarios may require and profiles may have.
    Capabilities,
    /// Run a workload over many seeds, report the failing ones, and shrink
    /// the first failures to the fewest faults that still break them.
    Explore(cli::ExploreOptions),
    /// Run one scenario again and print its whole trace.
    Replay {
        file: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The version to replay (default: each the scenario lists).
        #[arg(long)]
        version: Option<String>,
        /// Also write the runs as sequence diagrams to this HTML file.
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// Which normative statements of each version the scenarios check.
    Coverage {
        paths: Vec<PathBuf>,
        /// Also list the statements no scenario checks.
        #[arg(long)]
        missing: bool,
    },
    /// Check scenario files without running them.
    Check { paths: Vec<PathBuf> },
    /// Print the JSON Schema of the scenario format (draft 2020-12)
    ///
    /// Editors with the YAML language server (VS Code's YAML extension,
    /// Neovim, Helix, ...) use it to complete keys, explain them and flag
    /// mistakes while you type. Save it once:
    ///
    ///     gauntlet schema > scenario.schema.json
    ///
    /// and put this comment on the first line of a scenario, with the path
    /// relative to the scenario file:
    ///
    ///     # yaml-language-server: $schema=../scenario.schema.json
    ///
    /// The schema catches unknown keys, wrong types, bad durations, unknown
    /// packet, reason code and property names; `gauntlet check` also checks
    /// what a schema cannot (that a step's client is declared, that `only`
    /// names a version the scenario runs on, ...).
    #[command(verbatim_doc_comment)]
    Schema,
}

fn main() -> ExitCode {
    // Output piped into `head` and closed early: stop quietly, as other
    // command-line tools do, instead of failing on the next print.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = Cli::parse();
    let result = match args.command {
        Command::Run {
            paths,
            seed,
            version,
            report,
            filter,
            broker,
            jobs,
            baseline,
            ca,
            insecure,
            username,
            password,
            capabilities,
        } => {
            let external = match broker {
                Some(broker) => Some(mqtt_gauntlet::external::session::Options {
                    broker,
                    ca,
                    insecure,
                    username,
                    password,
                    capabilities,
                }),
                None if ca.is_some()
                    || insecure
                    || username.is_some()
                    || password.is_some()
                    || !capabilities.is_empty() =>
                {
                    eprintln!(
                        "gauntlet: --ca, --insecure, --username, --password and --capabilities need --broker"
                    );
                    return ExitCode::from(2);
                }
                None => None,
            };
            cli::run(cli::RunOptions {
                paths,
                seed,
                version,
                report,
                filter,
                broker: external,
                jobs,
                baseline,
                quiet: false,
            })
        }
        Command::Explore(options) => cli::explore(options),
        Command::Compare(options) => cli::compare(options),
        Command::Capabilities => {
            for (name, meaning) in mqtt_gauntlet::capability::ALL {
                println!("{name:<26} {meaning}");
            }
            Ok(true)
        }
        Command::Replay {
            file,
            seed,
            version,
            html,
        } => cli::replay(&file, seed, version.as_deref(), html.as_deref()),
        Command::Check { paths } => cli::check(&paths),
        Command::Coverage { paths, missing } => cli::coverage(&paths, missing),
        Command::Schema => {
            use std::io::Write;
            let schema = mqtt_gauntlet::schema::scenario_schema();
            serde_json::to_string_pretty(&schema)
                .map_err(|e| e.to_string())
                .and_then(|text| {
                    match writeln!(std::io::stdout(), "{text}") {
                        // `gauntlet schema | head` is not an error.
                        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.to_string()),
                        _ => Ok(true),
                    }
                })
                .map_err(|e| format!("cannot print the schema: {e}"))
        }
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
