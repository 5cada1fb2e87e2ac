//! The schema of parameterised scenarios: the `vary:` table, and `$(...)`
//! expressions accepted wherever a scalar goes (the loader works them out
//! per variant and checks the result; the schema cannot).

use serde_json::{json, Map, Value};

/// `vary:` — a map of variables to lists of values, or a list of rows.
pub(super) fn vary() -> Value {
    json!({
        "description": "Run the scenario once per variant, each a run of its own named after its values (`name [v5, first=a/#, qos=2]`): a map of variables to lists of values gives every combination (the first key varies slowest), a list of rows gives each row. Anywhere in the file, `$(name)` is a variable's value and `$(limit + 1)` works it out: whole numbers with + - * / % and parentheses, strings in quotes joined with + and repeated with * (`$(\"c\" * 23)`), len(s), min(a, b), max(a, b) (quote an expression with a comma inside { }), and a field of a map value, $(order.first). Comparisons (== != < <= > >=) with and, or, not give true or false, for a step's `when:` (the step is in the variants where it is true). A variable's value may use the other variables. A value that is only `$(...)` keeps the type of its result; `$$(` is a literal `$(`.",
        "anyOf": [
            {
                "type": "object",
                "minProperties": 1,
                "propertyNames": { "$ref": "#/$defs/variableName" },
                "additionalProperties": {
                    "description": "The values this variable takes, one variant each (times those of the other variables).",
                    "type": "array",
                    "minItems": 1,
                },
            },
            {
                "type": "array",
                "minItems": 1,
                "items": {
                    "description": "One variant: each variable with its value; every row sets the same variables.",
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": { "$ref": "#/$defs/variableName" },
                },
            },
        ],
    })
}

pub(super) fn defs(d: &mut Map<String, Value>) {
    d.insert(
        "variableName".into(),
        json!({
            "description": "A variable of vary: letters, digits and _, not starting with a digit (and not len, min, max, and, or, not, true or false).",
            "type": "string",
            "pattern": "^(?!(len|min|max|and|or|not|true|false)$)[A-Za-z_][A-Za-z0-9_]*$",
        }),
    );
    d.insert(
        "expression".into(),
        json!({
            "description": "A value worked out per variant of a file with vary: $(name), $(limit + 1), a/$(first)/b.",
            "type": "string",
            "pattern": r"\$\(",
        }),
    );
}

/// Lets every value's schema under `v` also take a `$(...)` expression.
/// Conditions (`if`, `not`, `propertyNames`) are left as they are: they
/// choose a branch, and the branch takes the expression.
pub(super) fn accept_expressions(v: &mut Value) {
    let Value::Object(o) = v else { return };
    if let Some(branches) = o.remove("oneOf") {
        // An expression would match every scalar branch at once.
        o.insert("anyOf".into(), branches);
    }
    for (key, child) in o.iter_mut() {
        match key.as_str() {
            "$defs" => {
                // A definition is wrapped where it is used (a `$ref`),
                // unless it is a scalar: then wherever it is used.
                if let Value::Object(m) = child {
                    for s in m.values_mut() {
                        accept_expressions(s);
                        if !takes_containers(s) {
                            wrap(s);
                        }
                    }
                }
            }
            "properties" | "patternProperties" => {
                if let Value::Object(m) = child {
                    for s in m.values_mut() {
                        accept_expressions(s);
                        wrap(s);
                    }
                }
            }
            "items" | "additionalProperties" => {
                accept_expressions(child);
                wrap(child);
            }
            "then" | "else" => accept_expressions(child),
            "anyOf" | "allOf" | "prefixItems" => {
                if let Value::Array(a) = child {
                    for s in a {
                        accept_expressions(s);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether a schema may take a map or a list.
fn takes_containers(s: &Value) -> bool {
    let container = |t: &Value| matches!(t.as_str(), Some("object" | "array"));
    match s.get("type") {
        Some(Value::Array(ts)) => ts.iter().any(container),
        Some(t) => container(t),
        None => !(s.get("enum").is_some() || s.get("const").is_some()),
    }
}

/// A value's schema becomes "that, or an expression" (a plain string
/// already takes one; `true` takes anything).
fn wrap(s: &mut Value) {
    let Value::Object(o) = s else { return };
    let plain_string = o.get("type") == Some(&json!("string"))
        && !o.contains_key("pattern")
        && !o.contains_key("enum");
    let typed = ["type", "enum", "const", "$ref", "anyOf", "if", "properties"]
        .iter()
        .any(|k| o.contains_key(*k));
    if !typed || plain_string {
        return;
    }
    let description = o.remove("description");
    let inner = Value::Object(std::mem::take(o));
    if let Some(d) = description {
        o.insert("description".into(), d);
    }
    o.insert(
        "anyOf".into(),
        json!([inner, { "$ref": "#/$defs/expression" }]),
    );
}
