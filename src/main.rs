//! `gauntlet`: run MQTT scenarios against the reference broker in a
//! deterministic simulated network, or against real brokers.

fn main() -> std::process::ExitCode {
    mqtt_gauntlet::cli::main()
}
