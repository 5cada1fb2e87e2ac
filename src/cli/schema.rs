//! `gauntlet schema`: the JSON Schema of the scenario format, for editors.

use std::io::Write;

pub fn print() -> Result<bool, String> {
    let schema = scenario::schema::scenario_schema();
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
