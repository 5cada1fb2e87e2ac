//! The `gauntlet` command line: one file per command, each thin — it parses
//! its options, calls the library and prints; each returns whether
//! everything passed.

pub mod check;
pub mod compare;
pub mod coverage;
pub mod explore;
pub mod replay;
pub mod run;
pub mod schema;

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    Run(run::RunArgs),
    /// Run the library against several brokers and write one matrix of
    /// the results (comparison.md, comparison.json).
    Compare(compare::CompareOptions),
    /// List the capabilities scenarios may require and profiles may have.
    Capabilities,
    /// Run a workload over many seeds, report the failing ones, and shrink
    /// the first failures to the fewest faults that still break them.
    Explore(explore::ExploreOptions),
    /// Run one scenario again and print its whole trace.
    Replay(replay::ReplayArgs),
    /// Which normative statements of each version the scenarios check.
    Coverage(coverage::CoverageArgs),
    /// Check scenario and workload files without running them; every
    /// mistake of each file is listed at its file:line:column.
    Check(check::CheckArgs),
    // Text, not a doc comment: its indented examples are commands to
    // copy, which rustdoc would take for Rust to test.
    #[command(about = SCHEMA_ABOUT, long_about = SCHEMA_LONG_ABOUT)]
    Schema,
}

const SCHEMA_ABOUT: &str =
    "Print the JSON Schema of the scenario and workload formats (draft 2020-12)";
const SCHEMA_LONG_ABOUT: &str = "\
Print the JSON Schema of the scenario and workload formats (draft 2020-12);
a file with a top-level `workload:` key is read as a workload

Editors with the YAML language server (VS Code's YAML extension,
Neovim, Helix, ...) use it to complete keys, explain them and flag
mistakes while you type. Save it once:

    gauntlet schema > scenario.schema.json

and put this comment on the first line of a scenario or workload, with
the path relative to that file:

    # yaml-language-server: $schema=../scenario.schema.json

The schema catches unknown keys, wrong types, bad durations, unknown
packet, reason code, property, checker and fault names, malformed topic
names and filters; `gauntlet check` also checks what a schema cannot
(that a step's client is declared, that `only` names a version the
scenario runs on, that a range is the right way round, ...).";

/// Parses the command line, runs the command, and turns its answer into
/// the exit code: 0 all passed, 1 something failed, 2 gauntlet could not do
/// what was asked.
pub fn main() -> ExitCode {
    // Output piped into `head` and closed early: stop quietly, as other
    // command-line tools do, instead of failing on the next print.
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let result = match Cli::parse().command {
        Command::Run(a) => run::command(a),
        Command::Explore(o) => explore::explore(o),
        Command::Compare(o) => compare::compare(o),
        Command::Capabilities => {
            for (name, meaning) in scenario::capability::ALL {
                println!("{name:<26} {meaning}");
            }
            Ok(true)
        }
        Command::Replay(a) => replay::replay(
            &a.file,
            a.seed,
            a.version.as_deref(),
            a.variant.as_deref(),
            a.html.as_deref(),
        ),
        Command::Check(a) => check::check(&a.paths),
        Command::Coverage(a) => coverage::coverage(&a),
        Command::Schema => schema::print(),
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

/// Writes an HTML page, making its folder if need be.
fn write_page(out: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!("written: {}", out.display());
    Ok(())
}
