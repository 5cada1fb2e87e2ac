//! What the integration tests share: running the `gauntlet` binary as a
//! user would, from the repository root (so paths print relative).

#![allow(dead_code)] // each test binary uses its own part

use std::process::{Command, Output};

pub fn gauntlet(args: &[&str]) -> Output {
    gauntlet_with(args, &[])
}

/// The same with environment variables set.
pub fn gauntlet_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gauntlet"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .expect("gauntlet runs")
}

/// Standard output and standard error, one after the other.
pub fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
