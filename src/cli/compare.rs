//! `gauntlet compare`: the library against several brokers, one matrix
//! (Markdown, HTML and JSON).

use std::io::Write;
use std::path::PathBuf;

use report::baseline::Baseline;

use harness::external::session;
use harness::suite::plan::load_suite;
use harness::suite::{execute, RunOptions};

#[derive(clap::Args)]
pub struct CompareOptions {
    /// Scenario files or directories (default: everything under scenarios/).
    pub paths: Vec<PathBuf>,
    /// A broker to compare: a profile (`reference`, `mosquitto`, `aedes`,
    /// `amqtt`, or a profile file) or a URL; give it once per broker.
    #[arg(long = "broker", required = true)]
    pub brokers: Vec<String>,
    /// Runs at once on each broker.
    #[arg(long, short = 'j', default_value_t = 8)]
    pub jobs: usize,
    /// Where comparison.md and comparison.json go.
    #[arg(long, default_value = "comparison")]
    pub out: PathBuf,
    /// Seed of each run's fault schedules.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where `<broker>.baseline.yaml` files are looked for: a listed
    /// failure's reviewed reason replaces the raw one.
    #[arg(long, default_value = "brokers")]
    pub baselines: PathBuf,
    /// The date the report shows (default: today, UTC).
    #[arg(long)]
    pub date: Option<String>,
}

/// Today's date (UTC) as YYYY-MM-DD: only for a report's heading.
fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `gauntlet compare`: the library against each broker in turn, one matrix.
pub fn compare(o: CompareOptions) -> Result<bool, String> {
    let entries = load_suite(&o.paths)?;
    let mut spec = report::compare::SpecIds::new();
    for e in &entries {
        if let Ok(s) = &e.scenario {
            for &v in &s.versions {
                let ids = s.spec.ids_for(v).into_iter().map(str::to_owned).collect();
                spec.insert(e.run_name(v), ids);
            }
        }
    }
    let mut results = Vec::new();
    for broker in &o.brokers {
        let path = o.baselines.join(format!("{broker}.baseline.yaml"));
        let baseline_path = path.is_file().then_some(path);
        let baseline = baseline_path.as_deref().map(Baseline::load).transpose()?;
        eprintln!("comparing: {broker}");
        let executed = execute(&RunOptions {
            paths: o.paths.clone(),
            seed: o.seed,
            version: None,
            report: None,
            filter: None,
            broker: Some(session::Options {
                broker: broker.clone(),
                ..session::Options::default()
            }),
            jobs: o.jobs,
            baseline: baseline_path,
            quiet: true,
            wall_budget: harness::sim::budget::WALL_BUDGET,
        })?;
        results.push((broker.clone(), executed, baseline));
    }
    let runs: Vec<report::compare::BrokerRun<'_>> = results
        .iter()
        .map(|(name, e, b)| report::compare::BrokerRun {
            name: name.clone(),
            version: e.broker_version.clone(),
            records: &e.records,
            baseline: b.as_ref(),
        })
        .collect();
    let date = o.date.clone().unwrap_or_else(today);
    let c = report::compare::build(&runs, &spec, env!("CARGO_PKG_VERSION"), &date, o.seed);
    std::fs::create_dir_all(&o.out).map_err(|e| format!("{}: {e}", o.out.display()))?;
    let md = o.out.join("comparison.md");
    std::fs::write(&md, report::compare::markdown(&c))
        .map_err(|e| format!("{}: {e}", md.display()))?;
    let json = o.out.join("comparison.json");
    let text = serde_json::to_string_pretty(&c).map_err(|e| e.to_string())?;
    std::fs::write(&json, text).map_err(|e| format!("{}: {e}", json.display()))?;
    let html = o.out.join("comparison.html");
    std::fs::write(&html, report::html::comparison(&c))
        .map_err(|e| format!("{}: {e}", html.display()))?;
    let mut out = std::io::stdout().lock();
    for b in &c.brokers {
        let _ = writeln!(
            out,
            "{:<12} {:<40} {:>4} pass {:>4} fail {:>4} skip",
            b.name,
            b.version.as_deref().unwrap_or("?"),
            b.totals.pass,
            b.totals.fail,
            b.totals.skip
        );
    }
    let _ = writeln!(
        out,
        "written: {}, {} and {}",
        md.display(),
        html.display(),
        json.display()
    );
    Ok(true)
}
