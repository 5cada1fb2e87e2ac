//! The `$(...)` expressions of parameterised scenarios: whole numbers,
//! strings, booleans, variables and their fields, a few functions. Pure:
//! text and variables in, a value or a message out.
//!
//! Precedence, loosest first: `or`, `and`, `not`, comparisons (`== != < <=
//! > >=`, one per operand pair), `+ -`, `* / %`, unary `-`.

use std::collections::BTreeMap;

use crate::tree::{Node, Pos, Value};

/// Longest string an expression may build (a 65,535-byte topic and then
/// some; a Maximum Packet Size sweep uses `{size: N}` payloads instead).
const MAX_STRING: usize = 1 << 20;

/// What an expression gives.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val {
    Int(i64),
    Str(String),
    Bool(bool),
    /// A variable alone, as written (a list, a map, a boolean, ...).
    Node(Node),
}

impl Val {
    pub(crate) fn text(&self) -> Result<String, String> {
        match self {
            Val::Int(n) => Ok(n.to_string()),
            Val::Str(s) => Ok(s.clone()),
            Val::Bool(b) => Ok(b.to_string()),
            Val::Node(n) => match n.value {
                Value::Seq(_) | Value::Map(_) => Err(format!(
                    "{} cannot be written inside a string: use it alone, as $(name)",
                    n.kind()
                )),
                _ => Ok(n.text.clone()),
            },
        }
    }

    pub(crate) fn node(self) -> Node {
        let scalar = |value, text| Node {
            pos: Pos::UNKNOWN,
            id: 0,
            value,
            text,
        };
        match self {
            Val::Int(n) if n >= 0 => scalar(Value::Uint(n as u64), n.to_string()),
            Val::Int(n) => scalar(Value::Int(n), n.to_string()),
            Val::Str(s) => scalar(Value::Str(s.clone()), s),
            Val::Bool(b) => scalar(Value::Bool(b), b.to_string()),
            Val::Node(n) => n,
        }
    }
}

pub(crate) fn eval(expr: &str, vars: &BTreeMap<&str, &Node>) -> Result<Val, String> {
    let tokens = lex(expr)?;
    let mut p = Parser {
        tokens: &tokens,
        at: 0,
        vars,
    };
    let v = p.or()?;
    match p.tokens.get(p.at) {
        None => Ok(v),
        Some(t) => Err(format!("unexpected {t} in $({expr})")),
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Int(i64),
    Str(String),
    Name(String),
    Op(char),
}

impl std::fmt::Display for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tok::Int(n) => write!(f, "{n}"),
            Tok::Str(s) => write!(f, "{s:?}"),
            Tok::Name(n) => write!(f, "{n}"),
            Tok::Op(c) => write!(f, "'{}'", op_text(*c)),
        }
    }
}

fn lex(expr: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = expr.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '+' | '-' | '*' | '/' | '%' | '(' | ')' | ',' | '.' => out.push(Tok::Op(c)),
            '=' | '!' | '<' | '>' => {
                let eq = chars.next_if(|&(_, d)| d == '=').is_some();
                out.push(Tok::Op(match (c, eq) {
                    ('=', true) => '=',
                    ('!', true) => '≠',
                    ('<', true) => '≤',
                    ('>', true) => '≥',
                    ('<' | '>', false) => c,
                    _ => {
                        return Err(format!(
                            "unexpected {c:?} in $({expr}): compare with == or !="
                        ))
                    }
                }));
            }
            '"' | '\'' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some((_, q)) if q == c => break,
                        Some((_, ch)) => s.push(ch),
                        None => return Err(format!("a string with no closing {c}")),
                    }
                }
                out.push(Tok::Str(s));
            }
            '0'..='9' => {
                let mut end = i + 1;
                while let Some(&(j, d)) = chars.peek() {
                    if !d.is_ascii_alphanumeric() && d != '_' {
                        break;
                    }
                    end = j + d.len_utf8();
                    chars.next();
                }
                let digits = expr[i..end].replace('_', "");
                let n = match digits.strip_prefix("0x") {
                    Some(h) => i64::from_str_radix(h, 16),
                    None => digits.parse(),
                };
                out.push(Tok::Int(n.map_err(|_| {
                    format!("{:?} is not a whole number", &expr[i..end])
                })?));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = i + 1;
                while let Some(&(j, d)) = chars.peek() {
                    if !d.is_ascii_alphanumeric() && d != '_' {
                        break;
                    }
                    end = j + 1;
                    chars.next();
                }
                out.push(Tok::Name(expr[i..end].to_owned()));
            }
            other => return Err(format!("unexpected {other:?} in $({expr})")),
        }
    }
    if out.is_empty() {
        return Err("an empty $()".into());
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: &'a [Tok],
    at: usize,
    vars: &'a BTreeMap<&'a str, &'a Node>,
}

impl Parser<'_> {
    fn next_op(&mut self, ops: &[char]) -> Option<char> {
        match self.tokens.get(self.at) {
            Some(Tok::Op(c)) if ops.contains(c) => {
                self.at += 1;
                Some(*c)
            }
            _ => None,
        }
    }

    fn next_word(&mut self, word: &str) -> bool {
        let found = matches!(self.tokens.get(self.at), Some(Tok::Name(n)) if n == word);
        self.at += usize::from(found);
        found
    }

    fn or(&mut self) -> Result<Val, String> {
        let mut v = self.and()?;
        while self.next_word("or") {
            let w = self.and()?;
            v = Val::Bool(truth(&v, "or")? || truth(&w, "or")?);
        }
        Ok(v)
    }

    fn and(&mut self) -> Result<Val, String> {
        let mut v = self.not()?;
        while self.next_word("and") {
            let w = self.not()?;
            v = Val::Bool(truth(&v, "and")? && truth(&w, "and")?);
        }
        Ok(v)
    }

    fn not(&mut self) -> Result<Val, String> {
        if self.next_word("not") {
            return Ok(Val::Bool(!truth(&self.not()?, "not")?));
        }
        self.compare()
    }

    fn compare(&mut self) -> Result<Val, String> {
        let a = self.sum()?;
        let Some(op) = self.next_op(&['=', '≠', '<', '≤', '>', '≥']) else {
            return Ok(a);
        };
        let b = self.sum()?;
        let order = match (&a, &b) {
            (Val::Int(x), Val::Int(y)) => x.cmp(y),
            (Val::Str(x), Val::Str(y)) => x.cmp(y),
            (Val::Bool(x), Val::Bool(y)) if matches!(op, '=' | '≠') => x.cmp(y),
            _ => {
                return Err(format!(
                    "'{}' does not compare {} and {}",
                    op_text(op),
                    kind(&a),
                    kind(&b)
                ))
            }
        };
        use std::cmp::Ordering::*;
        Ok(Val::Bool(match op {
            '=' => order == Equal,
            '≠' => order != Equal,
            '<' => order == Less,
            '≤' => order != Greater,
            '>' => order == Greater,
            _ => order != Less,
        }))
    }

    fn sum(&mut self) -> Result<Val, String> {
        let mut v = self.product()?;
        while let Some(op) = self.next_op(&['+', '-']) {
            v = apply(op, v, self.product()?)?;
        }
        Ok(v)
    }

    fn product(&mut self) -> Result<Val, String> {
        let mut v = self.unary()?;
        while let Some(op) = self.next_op(&['*', '/', '%']) {
            v = apply(op, v, self.unary()?)?;
        }
        Ok(v)
    }

    fn unary(&mut self) -> Result<Val, String> {
        if self.next_op(&['-']).is_some() {
            return apply('-', Val::Int(0), self.unary()?);
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Val, String> {
        let Some(t) = self.tokens.get(self.at).cloned() else {
            return Err("an expression ends too soon".into());
        };
        self.at += 1;
        match t {
            Tok::Int(n) => Ok(Val::Int(n)),
            Tok::Str(s) => Ok(Val::Str(s)),
            Tok::Op('(') => {
                let v = self.sum()?;
                self.next_op(&[')']).ok_or("a ( with no closing )")?;
                Ok(v)
            }
            Tok::Name(w) if w == "true" || w == "false" => Ok(Val::Bool(w == "true")),
            Tok::Name(f) if FUNCTIONS.contains(&f.as_str()) => {
                self.next_op(&['('])
                    .ok_or_else(|| format!("{f} takes ( )"))?;
                let mut args = vec![self.sum()?];
                while self.next_op(&[',']).is_some() {
                    args.push(self.sum()?);
                }
                self.next_op(&[')'])
                    .ok_or_else(|| format!("{f}( with no closing )"))?;
                call(&f, args)
            }
            Tok::Name(n) => {
                let first = self.at == 1;
                let Some(&root) = self.vars.get(n.as_str()) else {
                    // `broker` is always there; the others come from vary:.
                    let known: Vec<&str> = self
                        .vars
                        .keys()
                        .copied()
                        .filter(|k| *k != "broker")
                        .collect();
                    return Err(if known.is_empty() {
                        format!(
                            "unknown variable {n}: the file has no vary: (only broker.… is known)"
                        )
                    } else {
                        format!(
                            "unknown variable {n}: vary: sets {} (and broker.… is known)",
                            known.join(", ")
                        )
                    });
                };
                let mut node = root;
                let mut path = n.clone();
                while self.next_op(&['.']).is_some() {
                    let Some(Tok::Name(field)) = self.tokens.get(self.at) else {
                        return Err(format!("{path}. takes a field name"));
                    };
                    self.at += 1;
                    node = node.get(field).ok_or_else(|| {
                        let fields: Vec<&str> = node
                            .entries()
                            .iter()
                            .map(|(k, _)| k.text.as_str())
                            .collect();
                        if fields.is_empty() {
                            format!("{path} is {}, with no field {field}", node.kind())
                        } else {
                            format!("{path} has no field {field}: it has {}", fields.join(", "))
                        }
                    })?;
                    path = format!("{path}.{field}");
                }
                if first && self.at == self.tokens.len() {
                    // Alone: the value as written, whatever it is.
                    return Ok(Val::Node(node.clone()));
                }
                match &node.value {
                    Value::Uint(u) => Ok(Val::Int(
                        i64::try_from(*u).map_err(|_| format!("{path} = {u} is too large"))?,
                    )),
                    Value::Int(i) => Ok(Val::Int(*i)),
                    Value::Str(s) => Ok(Val::Str(s.clone())),
                    Value::Bool(b) => Ok(Val::Bool(*b)),
                    _ => Err(format!(
                        "{path} is {}: only whole numbers and strings take part in \
                         arithmetic (use it alone, as $({path}))",
                        node.kind()
                    )),
                }
            }
            Tok::Op(c) => Err(format!("unexpected '{c}'")),
        }
    }
}

/// The functions an expression may call (not variable names).
pub(crate) const FUNCTIONS: [&str; 3] = ["len", "min", "max"];

/// Words an expression keeps for itself (not variable names).
pub(crate) const WORDS: [&str; 5] = ["and", "or", "not", "true", "false"];

/// How an operator is written (comparisons are kept as one character).
fn op_text(c: char) -> String {
    match c {
        '=' => "==".into(),
        '≠' => "!=".into(),
        '≤' => "<=".into(),
        '≥' => ">=".into(),
        c => c.to_string(),
    }
}

fn truth(v: &Val, op: &str) -> Result<bool, String> {
    match v {
        Val::Bool(b) => Ok(*b),
        Val::Node(n) => match n.value {
            Value::Bool(b) => Ok(b),
            _ => Err(format!("{op} takes true or false, not {}", n.kind())),
        },
        other => Err(format!("{op} takes true or false, not {}", kind(other))),
    }
}

fn call(f: &str, args: Vec<Val>) -> Result<Val, String> {
    match (f, args.as_slice()) {
        ("len", [v]) => Ok(Val::Int(v.text()?.len() as i64)),
        ("min" | "max", [_, ..]) => {
            let mut out = Vec::new();
            for a in &args {
                match a {
                    Val::Int(n) => out.push(*n),
                    other => return Err(format!("{f} takes whole numbers, not {}", kind(other))),
                }
            }
            let best = if f == "min" {
                out.iter().min()
            } else {
                out.iter().max()
            };
            best.copied()
                .map(Val::Int)
                .ok_or_else(|| format!("{f}() of nothing"))
        }
        _ => Err(format!(
            "{f} takes {}",
            if f == "len" {
                "one string: len(s)"
            } else {
                "whole numbers"
            }
        )),
    }
}

fn apply(op: char, a: Val, b: Val) -> Result<Val, String> {
    let overflow = || format!("'{op}' overflows");
    match (op, a, b) {
        ('+', Val::Int(x), Val::Int(y)) => x.checked_add(y).map(Val::Int).ok_or_else(overflow),
        ('-', Val::Int(x), Val::Int(y)) => x.checked_sub(y).map(Val::Int).ok_or_else(overflow),
        ('*', Val::Int(x), Val::Int(y)) => x.checked_mul(y).map(Val::Int).ok_or_else(overflow),
        ('/' | '%', Val::Int(_), Val::Int(0)) => Err("division by zero".into()),
        ('/', Val::Int(x), Val::Int(y)) => x.checked_div(y).map(Val::Int).ok_or_else(overflow),
        ('%', Val::Int(x), Val::Int(y)) => x.checked_rem(y).map(Val::Int).ok_or_else(overflow),
        ('+', Val::Str(x), Val::Str(y)) => Ok(Val::Str(x + &y)),
        ('*', Val::Str(s), Val::Int(n)) | ('*', Val::Int(n), Val::Str(s)) => {
            let n = usize::try_from(n).map_err(|_| format!("a string repeated {n} times"))?;
            if s.len().saturating_mul(n) > MAX_STRING {
                return Err(format!(
                    "a string of {} bytes is longer than the {MAX_STRING} an expression may build",
                    s.len().saturating_mul(n)
                ));
            }
            Ok(Val::Str(s.repeat(n)))
        }
        (op, a, b) => Err(format!(
            "'{op}' does not apply to {} and {}",
            kind(&a),
            kind(&b)
        )),
    }
}

fn kind(v: &Val) -> &'static str {
    match v {
        Val::Int(_) => "a whole number",
        Val::Str(_) => "a string",
        Val::Bool(_) => "a boolean",
        Val::Node(n) => n.kind(),
    }
}
