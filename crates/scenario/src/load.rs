//! Reading scenario and workload files: the YAML becomes a tree of located
//! nodes ([`crate::tree`]), the model is read from it ([`crate::de`]) and
//! checked ([`crate::check`]). Every mistake of a file is reported, each as
//! `file:line:column: what was wrong` at the value it is about; only broken
//! YAML stops a file at its first error. Nothing here panics on bad input.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::check::{self, Problems};
use crate::de::{from_node, DeError};
use crate::tree::{self, Node, Pos};
use crate::vary;
use crate::workload::Workload;
use crate::{Scenario, VersionName};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    pub file: PathBuf,
    /// 1-based; 0 when the problem has no place in the file.
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

impl std::error::Error for LoadError {}

/// Every mistake of one file, in the order they appear in it (never
/// empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadErrors(Vec<LoadError>);

impl LoadErrors {
    pub fn errors(&self) -> &[LoadError] {
        &self.0
    }
}

impl From<LoadError> for LoadErrors {
    fn from(e: LoadError) -> LoadErrors {
        LoadErrors(vec![e])
    }
}

/// One error a line, each `file:line:column: message`.
impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}

pub(crate) fn read(path: &Path) -> Result<String, LoadErrors> {
    std::fs::read_to_string(path).map_err(|e| {
        LoadErrors::from(LoadError {
            file: path.to_owned(),
            line: 0,
            column: 0,
            message: format!("cannot read: {e}"),
        })
    })
}

/// Loads and checks a scenario file that has no `vary:` (one that has is
/// an error here: [`load_variants`] reads it).
pub fn load_file(path: &Path) -> Result<Scenario, LoadErrors> {
    load_str(&read(path)?, path)
}

/// Parses and checks a scenario without `vary:`; `path` is only used in
/// errors.
pub fn load_str(text: &str, path: &Path) -> Result<Scenario, LoadErrors> {
    let mut all = load_variants_str(text, path)?;
    match all.pop() {
        Some(s) if all.is_empty() && s.variant.is_none() => Ok(s),
        _ => Err(error(
            path,
            Pos::UNKNOWN,
            format!(
                "the file has {} variants (vary:): read it as variants",
                all.len() + 1
            ),
        )
        .into()),
    }
}

/// Loads and checks a scenario file: one scenario, or one per variant of
/// its `vary:` table (each with its `variant` label), in the table's order.
pub fn load_variants(path: &Path) -> Result<Vec<Scenario>, LoadErrors> {
    load_variants_str(&read(path)?, path)
}

/// [`load_variants`] of a text; `path` is only used in errors. A mistake
/// every variant makes is reported once; one only some make names them.
pub fn load_variants_str(text: &str, path: &Path) -> Result<Vec<Scenario>, LoadErrors> {
    load_variants_announced(text, path, None)
}

/// [`load_variants_str`] for a broker that announced `announced` in its
/// CONNACK (`$(broker.…)`); `None`: the reference broker's own values.
pub fn load_variants_announced(
    text: &str,
    path: &Path,
    announced: Option<&vary::Announced>,
) -> Result<Vec<Scenario>, LoadErrors> {
    let root = tree::parse(text).map_err(|e| LoadErrors::from(yaml_error(&e, path)))?;
    if let Some(kind) = crate::sweep::kind(&root) {
        kind.map_err(|(pos, m)| LoadErrors::from(error(path, pos, m)))?;
        let at = root.get("sweep").map_or(Pos::UNKNOWN, |n| n.pos);
        return sweep(path, announced, at);
    }
    let variants = vary::expand(&root, announced).map_err(|list| errors(path, list))?;
    let count = variants.len();
    // The versions the file's variants run on between them.
    let mut file_versions: Vec<VersionName> = variants
        .iter()
        .flat_map(|v| {
            v.root
                .get("versions")
                .and_then(|n| from_node::<Vec<VersionName>>(n).ok())
                .unwrap_or_else(|| vec![VersionName::V311, VersionName::V5])
        })
        .collect();
    file_versions.sort();
    file_versions.dedup();
    let mut out = Vec::new();
    // Each mistake, with the variants that make it.
    let mut found: Vec<((Pos, String), Vec<String>)> = Vec::new();
    for v in variants {
        let judge = |p: &mut Problems, s: &Scenario, doc: &Read| {
            check::scenario_of_file(p, s, doc, &file_versions)
        };
        match read_document::<Scenario>(&v.root, scenario_unit, judge) {
            Ok(mut s) => {
                s.variant = v.label;
                s.broker_written = written(&v.root);
                out.push(s);
            }
            Err(list) => {
                for p in list {
                    let label = v.label.clone().unwrap_or_default();
                    match found.iter_mut().find(|(q, _)| *q == p) {
                        Some((_, labels)) => labels.push(label),
                        None => found.push((p, vec![label])),
                    }
                }
            }
        }
    }
    if found.is_empty() {
        return Ok(out);
    }
    // In the order of the file; what has no place last.
    found.sort_by_key(|((pos, _), _)| (!pos.is_known(), *pos));
    let list = found
        .into_iter()
        .map(|((pos, message), labels)| {
            if labels.len() == count || labels.iter().all(String::is_empty) {
                (pos, message)
            } else {
                (pos, format!("{message} (in [{}])", labels.join("]; [")))
            }
        })
        .collect();
    Err(errors(path, list))
}

/// The runs a `sweep:` file stands for, each loaded as the scenario it is
/// written out as; a run that does not load is a mistake of the generator,
/// named with the run. Its steps are placed at the `sweep:` line: they
/// are in no file.
fn sweep(
    path: &Path,
    announced: Option<&vary::Announced>,
    at: Pos,
) -> Result<Vec<Scenario>, LoadErrors> {
    let mut out = Vec::new();
    for (label, text) in crate::sweep::malformed() {
        let mut s = load_variants_announced(&text, path, announced).map_err(|e| {
            LoadErrors(
                e.0.into_iter()
                    .map(|mut l| {
                        l.message = format!("generated run [{label}]: {}", l.message);
                        l
                    })
                    .collect(),
            )
        })?;
        for one in &mut s {
            one.variant = Some(label.clone());
            for step in &mut one.steps {
                step.at = at;
            }
        }
        out.extend(s);
    }
    Ok(out)
}

/// Loads and checks a workload file.
pub fn load_workload_file(path: &Path) -> Result<Workload, LoadErrors> {
    load_workload_str(&read(path)?, path)
}

/// Parses and checks a workload; `path` is only used in errors.
pub fn load_workload_str(text: &str, path: &Path) -> Result<Workload, LoadErrors> {
    let root = tree::parse(text).map_err(|e| LoadErrors::from(yaml_error(&e, path)))?;
    let mut w =
        read_document(&root, workload_unit, check::workload).map_err(|list| errors(path, list))?;
    w.broker_written = written(&root);
    Ok(w)
}

/// The keys of the document's `broker:` map.
fn written(root: &Node) -> Vec<String> {
    root.get("broker")
        .map(|b| b.entries().iter().map(|(k, _)| k.text.clone()).collect())
        .unwrap_or_default()
}

/// A scenario's steps and clients are read whole or not at all: a step
/// missing a broken field would be judged as another step.
fn scenario_unit(root: &Node, path: &[usize]) -> usize {
    let top = path
        .first()
        .and_then(|&i| root.entries().get(i))
        .map(|(k, _)| k.text.as_str());
    match top {
        Some("steps" | "clients") => path.len().min(2),
        _ => path.len(),
    }
}

/// A fixed fault is read whole or not at all, for the same reason.
fn workload_unit(root: &Node, path: &[usize]) -> usize {
    match path.first().and_then(|&i| root.entries().get(i)) {
        Some((k, v)) if k.text == "faults" && !v.items().is_empty() => path.len().min(2),
        _ => path.len(),
    }
}

fn error(path: &Path, pos: Pos, message: String) -> LoadError {
    LoadError {
        file: path.to_owned(),
        line: pos.line,
        column: pos.column,
        message,
    }
}

fn errors(path: &Path, list: Vec<(Pos, String)>) -> LoadErrors {
    LoadErrors(
        list.into_iter()
            .map(|(pos, message)| error(path, pos, message))
            .collect(),
    )
}

/// Reads a document of type `T`, then judges it with `judge` when it
/// could be read. `unit` says how much of the document to leave out after
/// an error (given the way to the offending node, how many of its first
/// steps name the part to leave out), so that reading goes on and finds
/// the other mistakes. The mistakes come sorted by place.
fn read_document<T: DeserializeOwned>(
    root: &Node,
    unit: impl Fn(&Node, &[usize]) -> usize,
    judge: impl Fn(&mut Problems, &T, &Read),
) -> Result<T, Vec<(Pos, String)>> {
    let (value, errors, read) = read_recovering::<T>(root, unit);
    let stopped = errors.len() >= MAX_ERRORS;
    let mut problems = Problems::default();
    problems
        .list
        .extend(errors.into_iter().map(|e| (e.pos, e.message)));
    if let Some(v) = &value {
        judge(
            &mut problems,
            v,
            &Read {
                written: root,
                read: &read,
            },
        );
    }
    let mut list = problems.list;
    list.sort();
    list.dedup();
    if stopped {
        let more = format!("and maybe more: reading stopped after {MAX_ERRORS} mistakes");
        list.push((Pos::UNKNOWN, more));
    }
    match value {
        Some(v) if list.is_empty() => Ok(v),
        // Not read, yet nothing said why: cannot happen, but a document
        // that did not load is never a success.
        _ if list.is_empty() => Err(vec![(
            Pos::UNKNOWN,
            "the document could not be read".into(),
        )]),
        _ => Err(list),
    }
}

/// Past this many, reading a document stops: each one costs a reading of
/// the whole document, and no one fixes a thousand at once.
const MAX_ERRORS: usize = 100;

/// A document as written, and as far as it could be read: the model was
/// read from `read`, so its lists and maps line up with the model's; what
/// had to be left out is only in `written`.
pub(crate) struct Read<'t> {
    pub written: &'t Node,
    pub read: &'t Node,
}

/// Reads `T` from `root`; after each error, leaves out the part of the
/// document it is in (see `unit`) and reads again, until it reads or
/// nothing is left to leave out. A required key left out this way is not
/// reported missing: the error that made it go was. Gives what it could
/// read, the errors, and the document it read from.
fn read_recovering<T: DeserializeOwned>(
    root: &Node,
    unit: impl Fn(&Node, &[usize]) -> usize,
) -> (Option<T>, Vec<DeError>, Node) {
    let mut work = root.clone();
    let mut errors = Vec::new();
    let mut left_out: Vec<(u32, String)> = Vec::new();
    loop {
        let e = match from_node::<T>(&work) {
            Ok(v) => return (Some(v), errors, work),
            Err(e) => e,
        };
        let ours = match (e.node, e.missing) {
            (Some(node), Some(field)) => left_out.contains(&(node, field.to_owned())),
            _ => false,
        };
        let node = e.node;
        if !ours {
            errors.push(e);
            if errors.len() >= MAX_ERRORS {
                return (None, errors, work);
            }
        }
        let path = node.and_then(|id| work.path_to(id)).unwrap_or_default();
        if path.is_empty() {
            return (None, errors, work);
        }
        let keep = unit(&work, &path).clamp(1, path.len());
        match work.remove(&path[..keep]) {
            Some(removed) => {
                if let Some(key) = removed.key {
                    left_out.push((removed.parent, key));
                }
            }
            None => return (None, errors, work),
        }
    }
}

fn yaml_error(e: &serde_saphyr::Error, path: &Path) -> LoadError {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    LoadError {
        file: path.to_owned(),
        line,
        column,
        message: first_line_without_location(&e.without_snippet().to_string()),
    }
}

/// Any YAML document into `T`, with errors at file:line:column.
/// For files other than scenarios and workloads (broker profiles,
/// baselines): the first error stops it.
pub fn parse_yaml<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, LoadError> {
    serde_saphyr::from_str(text).map_err(|e| yaml_error(&e, path))
}

/// serde-saphyr's message starts with "error: line L column C: "; the
/// location is ours to print.
fn first_line_without_location(s: &str) -> String {
    let first = s.lines().next().unwrap_or(s);
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let first = match first.find(": ") {
        Some(i) if first[..i].starts_with("line ") => &first[i + 2..],
        _ => first,
    };
    // Some messages end with the location instead.
    let first = match first.rfind(" at line ") {
        Some(i) if first[i..].contains(", column ") => &first[..i],
        _ => first,
    };
    explain(first)
}

/// The parser names Rust types; say what to write instead.
fn explain(message: &str) -> String {
    let hint = match message {
        "invalid boolean" => "expected true or false",
        "invalid u8" => "expected a whole number from 0 to 255",
        "invalid u16" => "expected a whole number from 0 to 65535",
        "invalid u32" => "expected a whole number from 0 to 4294967295",
        "invalid u64" | "invalid usize" => "expected a whole number",
        "expected mapping start" => "expected a map, e.g. {connect: {}} or {key: value}",
        _ => return message.to_owned(),
    };
    format!("{message}: {hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match load_str(text, Path::new("t.yaml")) {
            Ok(_) => Vec::new(),
            Err(e) => e.errors().iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn the_settings_a_file_writes_are_kept_even_at_their_default() {
        let text = "name: t\nbroker: { receive_maximum: 64, max_inflight: 4 }\n\
                    clients: { a: {} }\nsteps:\n  - a: { connect: {} }\n";
        let s = load_str(text, Path::new("t.yaml")).expect("loads");
        assert_eq!(s.broker_written, ["receive_maximum", "max_inflight"]);
        let none = load_str(
            "name: t\nclients: { a: {} }\nsteps:\n  - a: { connect: {} }\n",
            Path::new("t.yaml"),
        )
        .expect("loads");
        assert!(none.broker_written.is_empty());
    }

    #[test]
    fn reading_goes_on_after_a_mistake() {
        let text = "name: t\nclients:\n  a: { keep_alive: soon }\n  b: {}\nsteps:\n  \
                    - a: { publish: { topic: [t] } }\n  - b: { publish: { topic: a/+ } }\n  \
                    - c: { connect: {} }\n";
        let found = errors(text);
        assert_eq!(found.len(), 4, "{found:#?}");
        // In the order of the file, each at its value.
        assert!(found[0].starts_with("t.yaml:3:20: expected a whole number"));
        assert!(found[1].starts_with("t.yaml:6:28: expected a string, found a list"));
        assert!(found[2].starts_with("t.yaml:7:28: publish: topic name \"a/+\""));
        assert!(found[3].starts_with("t.yaml:8:5: unknown client \"c\""));
        // `topic` was left out with its step, not reported missing.
        assert!(
            !found.iter().any(|e| e.contains("missing field")),
            "{found:#?}"
        );
        // Client `a` did not load, but its steps still name a client.
        assert!(!found.iter().any(|e| e.contains("unknown client \"a\"")));
    }

    #[test]
    fn a_broken_yaml_stops_at_its_first_error() {
        let found = errors("name: t\nclients: {a: {}\nsteps: [\n");
        assert_eq!(found.len(), 1, "{found:#?}");
    }

    #[test]
    fn a_flood_of_mistakes_is_cut_short() {
        let mut text = String::from("name: t\nclients: {a: {}}\nsteps:\n");
        for _ in 0..300 {
            text.push_str("  - a: { publish: { topic: t, qos: x } }\n");
        }
        let found = errors(&text);
        assert_eq!(found.len(), MAX_ERRORS + 1);
        assert!(found[MAX_ERRORS].ends_with("reading stopped after 100 mistakes"));
    }
}
