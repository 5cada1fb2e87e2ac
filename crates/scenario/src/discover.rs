//! Finding scenario files and naming their runs.

use std::path::{Path, PathBuf};

use crate::{LoadErrors, Scenario, VersionName};

/// A scenario file, loaded or not; a file with `vary:` is one entry per
/// variant.
pub struct Entry {
    pub path: PathBuf,
    /// `conformance::qos1_flow`: the path under the suite root, `::`-joined.
    pub id: String,
    /// The variant's label (`first=a/#, qos=2`), for a file with `vary:`.
    pub variant: Option<String>,
    pub scenario: Result<Scenario, LoadErrors>,
}

impl Entry {
    /// The test name of one version's run: `conformance::qos1_flow [v5]`,
    /// `conformance::overlap [v5, first=a/#, qos=2]` for a variant.
    pub fn run_name(&self, version: VersionName) -> String {
        run_name(&self.id, version, self.variant.as_deref())
    }
}

/// The test name of a run of the scenario file `id`.
pub fn run_name(id: &str, version: VersionName, variant: Option<&str>) -> String {
    match variant {
        Some(v) => format!("{id} [{}, {v}]", version.label()),
        None => format!("{id} [{}]", version.label()),
    }
}

/// Every scripted scenario file (`.yaml`/`.yml`, not a workload) under
/// each path (or the path itself), sorted.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    Ok(discover_any(paths)?
        .into_iter()
        .filter(|p| !is_workload_file(p))
        .collect())
}

/// Every workload file under each path, sorted.
pub fn discover_workloads(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    Ok(discover_any(paths)?
        .into_iter()
        .filter(|p| is_workload_file(p))
        .collect())
}

/// A file with a top-level `workload:` key is a workload, not a script.
pub fn is_workload_file(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|t| crate::workload::is_workload(&t))
}

/// Every scenario and workload file (`.yaml`/`.yml`) under each path (or
/// the path itself), sorted.
pub fn discover_any(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut files).map_err(|e| format!("{}: {e}", p.display()))?;
        } else if p.exists() {
            files.push(p.clone());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let path = e.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if matches!(
            path.extension().and_then(|x| x.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

/// The id of a scenario file: its path relative to the nearest `scenarios`
/// directory (or as given), without extension, `::`-joined.
pub fn scenario_id(path: &Path) -> String {
    let comps: Vec<String> = path
        .with_extension("")
        .components()
        .filter(|c| matches!(c, std::path::Component::Normal(_)))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let start = comps
        .iter()
        .rposition(|c| c == "scenarios")
        .map_or(0, |i| i + 1);
    let rel = &comps[start..];
    if rel.is_empty() {
        path.display().to_string()
    } else {
        rel.join("::")
    }
}

/// Every scripted scenario file under `paths`, loaded: one entry per
/// variant, in the order of the files and of their `vary:` tables.
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Entry>, String> {
    load_all_announced(paths, None)
}

/// [`load_all`] for a broker that announced `announced` in its CONNACK:
/// `$(broker.…)` takes its values.
pub fn load_all_announced(
    paths: &[PathBuf],
    announced: Option<&crate::vary::Announced>,
) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for path in discover(paths)? {
        let id = scenario_id(&path);
        let loaded = crate::load::read(&path)
            .and_then(|text| crate::load::load_variants_announced(&text, &path, announced));
        match loaded {
            Ok(all) => out.extend(all.into_iter().map(|s| Entry {
                path: path.clone(),
                id: id.clone(),
                variant: s.variant.clone(),
                scenario: Ok(s),
            })),
            Err(e) => out.push(Entry {
                path,
                id,
                variant: None,
                scenario: Err(e),
            }),
        }
    }
    Ok(out)
}
