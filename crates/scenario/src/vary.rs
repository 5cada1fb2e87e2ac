//! Parameterised scenarios: a file's `vary:` table expands it into named
//! variants before the model is read, each a copy of the document with
//! every `$(...)` replaced by its value. A variant is a run of its own
//! (`overlapping [v5, first=a/#, qos=2]`): it fails alone, is listed in a
//! baseline by that name and replayed alone.
//!
//! ```yaml
//! vary:                      # every combination, first key slowest
//!   first: [a/#, a/+]
//!   qos: [0, 1, 2]
//! vary:                      # or the rows themselves
//!   - { first: a/#, second: a/+ }
//!   - { first: a/+, second: a/# }
//! ```
//!
//! `$(expr)` works unquoted in flow maps (`{ qos: $(qos) }`), where `${`
//! would not: whole integers with `+ - * / %` and parentheses, strings in
//! quotes joined with `+` and repeated with `*` (`$("c" * 23)`), `len(s)`,
//! `min(a, b)`, `max(a, b)` (a comma needs quotes inside `{ }`), and the
//! fields of a map value (`$(order.first)`; a map is named in the label by
//! its `name`). A variable's value may itself use the other variables, as
//! they are written (one level), so a row can pair values up:
//!
//! ```yaml
//! vary:
//!   wide: [0, 2]
//!   order:
//!     - { name: wide_first, first: "a/#", first_qos: $(wide) }
//!     - { name: narrow_first, first: a/+, first_qos: 1 }
//! ```
//! A value that is only `$(...)` takes the type of its result (a number
//! stays a number; `$(x)` alone gives `x` as written, lists included);
//! inside a longer string (`a/$(first)/b`) it is written out. `$$(` is a
//! literal `$(`. Map keys are expanded too (a `subscribe` filter is one).
//! The expanded copy keeps the places of the file, so a mistake in a
//! variant points at the `$(...)` that made it.

use std::collections::BTreeMap;

use crate::tree::{Node, Pos, Value};

mod expr;

use expr::{eval, FUNCTIONS, WORDS};

/// What the broker under test announces in its 5.0 CONNACK, for
/// `$(broker.receive_maximum)`, `$(broker.maximum_packet_size)` and
/// `$(broker.topic_alias_maximum)` in a scenario. In simulation the values
/// are the reference broker's with the file's own `broker:` settings; on a
/// real broker, what its CONNACK says (an absent property its default:
/// Receive Maximum 65,535, Topic Alias Maximum 0, Maximum Packet Size the
/// protocol's largest, 268,435,460 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announced {
    pub receive_maximum: u64,
    pub maximum_packet_size: u64,
    pub topic_alias_maximum: u64,
}

/// The largest packet MQTT can frame: 1 + 4 + 268,435,455 bytes.
pub const LARGEST_PACKET: u64 = 268_435_460;

impl Announced {
    fn of_reference(c: &reference_broker::Config) -> Announced {
        Announced {
            receive_maximum: c.receive_maximum.into(),
            maximum_packet_size: c.max_packet_size.into(),
            topic_alias_maximum: c.topic_alias_maximum.into(),
        }
    }

    fn node(&self) -> Node {
        let text = format!(
            "{{receive_maximum: {}, maximum_packet_size: {}, topic_alias_maximum: {}}}",
            self.receive_maximum, self.maximum_packet_size, self.topic_alias_maximum
        );
        crate::tree::parse(&text).expect("a map of numbers parses")
    }
}

/// `$(broker.…)` in a variant: what `announced` says, or else what the
/// reference broker announces with the variant's `broker:` settings
/// (their `$(...)` worked out with `vars` first).
fn broker_var(doc: &Node, vars: &BTreeMap<&str, &Node>, announced: Option<&Announced>) -> Node {
    let section = doc.get("broker").map(|b| {
        let mut b = b.clone();
        let mut ignored = Vec::new();
        substitute(&mut b, vars, &mut ignored);
        b
    });
    let config = section
        .as_ref()
        .and_then(|b| crate::de::from_node::<reference_broker::Config>(b).ok())
        .unwrap_or_default();
    let ours = Announced::of_reference(&config);
    let Some(theirs) = announced else {
        return ours.node();
    };
    // A setting the file writes is given to the broker it runs on (or the
    // run is skipped), so that value is what it announces.
    let pick = |key: &str, ours: u64, theirs: u64| {
        let written = section.as_ref().is_some_and(|b| b.get(key).is_some());
        if written {
            ours
        } else {
            theirs
        }
    };
    Announced {
        receive_maximum: pick(
            "receive_maximum",
            ours.receive_maximum,
            theirs.receive_maximum,
        ),
        maximum_packet_size: pick(
            "max_packet_size",
            ours.maximum_packet_size,
            theirs.maximum_packet_size,
        ),
        topic_alias_maximum: pick(
            "topic_alias_maximum",
            ours.topic_alias_maximum,
            theirs.topic_alias_maximum,
        ),
    }
    .node()
}

/// One expanded copy of a document.
pub(crate) struct Variant {
    /// `first=a/#, qos=2`: what sets it apart (`None`: no `vary:`).
    pub label: Option<String>,
    pub root: Node,
}

/// More variants than this in one file is a mistake, not a plan.
const MAX_VARIANTS: usize = 1_000;

type Problems = Vec<(Pos, String)>;

/// The document's variants: one, unlabelled, without `vary:`.
pub(crate) fn expand(root: &Node, announced: Option<&Announced>) -> Result<Vec<Variant>, Problems> {
    let Some(i) = root.entries().iter().position(|(k, _)| k.text == "vary") else {
        let mut doc = root.clone();
        let mut problems = Vec::new();
        let broker = broker_var(root, &BTreeMap::new(), announced);
        let vars = BTreeMap::from([("broker", &broker)]);
        substitute(&mut doc, &vars, &mut problems);
        apply_when(&mut doc, &mut problems);
        return if problems.is_empty() {
            Ok(vec![Variant {
                label: None,
                root: doc,
            }])
        } else {
            Err(problems)
        };
    };
    let (key, table) = &root.entries()[i];
    let rows = rows(key, table)?;
    let mut base = root.clone();
    if let Value::Map(entries) = &mut base.value {
        entries.remove(i);
    }
    let mut out: Vec<Variant> = Vec::new();
    let mut problems: Problems = Vec::new();
    for row in rows {
        let label = row
            .iter()
            .map(|(name, (index, value))| format!("{name}={}", shown(value, *index)))
            .collect::<Vec<_>>()
            .join(", ");
        if out
            .iter()
            .any(|v| v.label.as_deref() == Some(label.as_str()))
        {
            problems.push((
                table.pos,
                format!("vary: two variants would both be named [{label}]"),
            ));
            continue;
        }
        let raw: BTreeMap<&str, &Node> = row.iter().map(|(n, (_, v))| (*n, *v)).collect();
        let mut found = Vec::new();
        // A value may use the other variables (as written: one level).
        let resolved: Vec<(&str, Node)> = row
            .iter()
            .map(|(n, (_, v))| {
                let mut v = (*v).clone();
                substitute(&mut v, &raw, &mut found);
                (*n, v)
            })
            .collect();
        let mut vars: BTreeMap<&str, &Node> = resolved.iter().map(|(n, v)| (*n, v)).collect();
        let broker = broker_var(&base, &vars, announced);
        vars.insert("broker", &broker);
        let mut doc = base.clone();
        substitute(&mut doc, &vars, &mut found);
        apply_when(&mut doc, &mut found);
        renumber(&mut doc, &mut 0);
        for p in found {
            if !problems.contains(&p) {
                problems.push(p);
            }
        }
        out.push(Variant {
            label: Some(label),
            root: doc,
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// A row: each variable with the index of its value in its list (0 for
/// the row form) and the value.
type Row<'t> = Vec<(&'t str, (usize, &'t Node))>;

fn rows<'t>(key: &Node, table: &'t Node) -> Result<Vec<Row<'t>>, Problems> {
    let mut problems = Vec::new();
    let name_ok = |k: &Node, problems: &mut Problems| {
        let ok = k
            .text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && k.text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !FUNCTIONS.contains(&k.text.as_str())
            && !WORDS.contains(&k.text.as_str())
            && k.text != "broker";
        if !ok {
            problems.push((
                k.pos,
                format!(
                    "vary: {:?} is not a variable name: letters, digits and _, not starting \
                     with a digit (and not len, min, max, and, or, not, true, false or broker)",
                    k.text
                ),
            ));
        }
        ok
    };
    let rows: Vec<Row<'t>> = match &table.value {
        Value::Map(entries) if !entries.is_empty() => {
            let mut rows: Vec<Row<'t>> = vec![Vec::new()];
            for (k, values) in entries {
                name_ok(k, &mut problems);
                if values.items().is_empty() {
                    problems.push((
                        values.pos,
                        format!(
                            "vary: {} takes a list of its values, e.g. {}: [1, 2]",
                            k.text, k.text
                        ),
                    ));
                    continue;
                }
                rows = rows
                    .into_iter()
                    .flat_map(|row| {
                        values.items().iter().enumerate().map(move |(i, v)| {
                            let mut row = row.clone();
                            row.push((k.text.as_str(), (i + 1, v)));
                            row
                        })
                    })
                    .take(MAX_VARIANTS + 1)
                    .collect();
            }
            rows
        }
        Value::Seq(items) if !items.is_empty() => {
            let first: Vec<&str> = items[0]
                .entries()
                .iter()
                .map(|(k, _)| k.text.as_str())
                .collect();
            let mut rows = Vec::new();
            for (r, item) in items.iter().enumerate() {
                if item.entries().is_empty() {
                    problems.push((
                        item.pos,
                        "vary: each row is a map of variables to values, e.g. \
                         { first: a/#, second: a/+ }"
                            .into(),
                    ));
                    continue;
                }
                let names: Vec<&str> = item
                    .entries()
                    .iter()
                    .map(|(k, _)| k.text.as_str())
                    .collect();
                let mut sorted = names.clone();
                sorted.sort_unstable();
                let mut want = first.clone();
                want.sort_unstable();
                if sorted != want {
                    problems.push((
                        item.pos,
                        format!(
                            "vary: row {} sets {} but the first row sets {}: every row sets \
                             the same variables",
                            r + 1,
                            names.join(", "),
                            first.join(", ")
                        ),
                    ));
                    continue;
                }
                for (k, _) in item.entries() {
                    name_ok(k, &mut problems);
                }
                rows.push(
                    item.entries()
                        .iter()
                        .map(|(k, v)| (k.text.as_str(), (r + 1, v)))
                        .collect(),
                );
            }
            rows
        }
        _ => {
            return Err(vec![(
                key.pos,
                "vary: expected a map of variables to lists of values ({qos: [0, 1, 2]}), \
                 or a list of rows ([{first: a/#}, {first: a/+}])"
                    .into(),
            )])
        }
    };
    if rows.len() > MAX_VARIANTS {
        problems.push((
            key.pos,
            format!("vary: more than {MAX_VARIANTS} variants; split the file"),
        ));
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// A value as a variant's name shows it: as written if short and plain
/// (a map by its `name`), else by its place in the list (`#2`).
fn shown(value: &Node, index: usize) -> String {
    if let Some(name) = value.get("name") {
        return shown(name, index);
    }
    let plain = matches!(
        value.value,
        Value::Str(_) | Value::Uint(_) | Value::Int(_) | Value::Bool(_) | Value::Float(_)
    );
    if plain && value.text.len() <= 32 && !value.text.contains([',', ']', '=']) {
        value.text.clone()
    } else {
        format!("#{index}")
    }
}

/// Leaves out the steps whose `when:` is false, and takes the key away
/// where it is true: the model never sees it.
fn apply_when(doc: &mut Node, problems: &mut Problems) {
    let Value::Map(entries) = &mut doc.value else {
        return;
    };
    let Some((_, steps)) = entries.iter_mut().find(|(k, _)| k.text == "steps") else {
        return;
    };
    let Value::Seq(items) = &mut steps.value else {
        return;
    };
    items.retain_mut(|step| {
        let Value::Map(keys) = &mut step.value else {
            return true;
        };
        let Some(i) = keys.iter().position(|(k, _)| k.text == "when") else {
            return true;
        };
        let (_, when) = keys.remove(i);
        match when.value {
            Value::Bool(keep) => keep,
            _ => {
                problems.push((
                    when.pos,
                    format!(
                        "when: takes true or false, such as $(delta > 0); found {}",
                        when.kind()
                    ),
                ));
                true
            }
        }
    });
}

/// Most list items one `repeat:` may make (a thousand messages in flight
/// is a sweep; a million is a mistake).
const MAX_REPEAT: u64 = 100_000;

/// A `repeat:` item: how many times, under which name, what.
struct Repeat<'t> {
    times: &'t Node,
    name: String,
    body: &'t Node,
}

/// `{repeat: N, steps: [...]}`, with `as: name` (default `index`).
fn repeat_of(n: &Node) -> Option<Repeat<'_>> {
    let times = n.get("repeat")?;
    let known = n
        .entries()
        .iter()
        .all(|(k, _)| matches!(k.text.as_str(), "repeat" | "steps" | "as"));
    if !known {
        return None;
    }
    Some(Repeat {
        times,
        name: n
            .get("as")
            .map_or_else(|| "index".to_owned(), |a| a.text.clone()),
        body: n.get("steps")?,
    })
}

/// The body of a `repeat:` once per index (1, 2, ...), each copy with
/// `$(index)` (or the `as:` name) set, spliced into `out`.
fn repeat(
    r: Repeat<'_>,
    vars: &BTreeMap<&str, &Node>,
    problems: &mut Problems,
    out: &mut Vec<Node>,
) {
    let mut times = r.times.clone();
    substitute(&mut times, vars, problems);
    let n = match times.value {
        Value::Uint(n) if n <= MAX_REPEAT => n,
        _ => {
            problems.push((
                r.times.pos,
                format!(
                    "repeat: takes a whole number of times, 0 to {MAX_REPEAT}; found {}",
                    times.text
                ),
            ));
            return;
        }
    };
    if r.body.items().is_empty() {
        problems.push((
            r.body.pos,
            "repeat: needs `steps: [...]`, the steps to repeat".into(),
        ));
        return;
    }
    for i in 1..=n {
        let index = Node {
            pos: r.times.pos,
            id: 0,
            value: Value::Uint(i),
            text: i.to_string(),
        };
        let mut inner = vars.clone();
        inner.insert(r.name.as_str(), &index);
        let mut body = r.body.clone();
        let before = problems.len();
        substitute(&mut body, &inner, problems);
        if let Value::Seq(items) = body.value {
            out.extend(items);
        }
        if problems.len() > before {
            // Every copy would say the same.
            return;
        }
    }
}

/// Replaces every `$(...)` under `node`, keys included; `repeat:` items of
/// a list are unrolled in place.
fn substitute(node: &mut Node, vars: &BTreeMap<&str, &Node>, problems: &mut Problems) {
    match &mut node.value {
        Value::Str(s) if s.contains("$(") => {
            let (pos, s) = (node.pos, s.clone());
            match expand_str(&s, vars) {
                Ok(Expanded::Node(mut n)) => {
                    n.pos = pos;
                    *node = n;
                }
                Ok(Expanded::Text(t)) => {
                    node.text = t.clone();
                    node.value = Value::Str(t);
                }
                Err(e) => problems.push((pos, format!("{s:?}: {e}"))),
            }
        }
        Value::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for mut n in std::mem::take(items) {
                match repeat_of(&n) {
                    Some(r) => repeat(r, vars, problems, &mut out),
                    None => {
                        substitute(&mut n, vars, problems);
                        out.push(n);
                    }
                }
            }
            *items = out;
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                let expanded = matches!(&k.value, Value::Str(s) if s.contains("$("));
                substitute(k, vars, problems);
                if expanded && !matches!(k.value, Value::Str(_)) {
                    // A key is a name: whatever it evaluated to, as text.
                    k.value = Value::Str(k.text.clone());
                }
                substitute(v, vars, problems);
            }
        }
        _ => {}
    }
}

enum Expanded {
    Node(Node),
    Text(String),
}

/// A string with `$(...)` in it: a node when it is one expression alone.
fn expand_str(s: &str, vars: &BTreeMap<&str, &Node>) -> Result<Expanded, String> {
    let mut out = String::new();
    let mut rest = s;
    let mut alone = None;
    while let Some(i) = rest.find("$(") {
        if rest[..i].ends_with('$') {
            out.push_str(&rest[..i]);
            out.push('(');
            rest = &rest[i + 2..];
            continue;
        }
        out.push_str(&rest[..i]);
        let body = &rest[i + 2..];
        let end = closing(body).ok_or("a $( with no closing )")?;
        let expr = &body[..end];
        rest = &body[end + 1..];
        let v = eval(expr, vars)?;
        if out.is_empty() && rest.is_empty() && alone.is_none() && i == 0 {
            alone = Some(v);
            break;
        }
        out.push_str(&v.text()?);
    }
    if let Some(v) = alone {
        return Ok(Expanded::Node(v.node()));
    }
    out.push_str(rest);
    Ok(Expanded::Text(out))
}

/// Where the `)` that closes an expression is (quotes and nesting
/// respected).
fn closing(body: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote = None;
    for (i, c) in body.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') if depth == 0 => return Some(i),
            (None, ')') => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Fresh ids, unique in the tree, after copies were put into it.
fn renumber(node: &mut Node, next: &mut u32) {
    node.id = *next;
    *next += 1;
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| renumber(n, next)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            renumber(k, next);
            renumber(v, next);
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
