//! Helpers shared by the end-to-end benches: service settings and process measurements.

#![allow(dead_code)]

use rdkafka::ClientConfig;

/// An environment variable, or `default` (the values `scripts/services.sh env` prints).
pub(crate) fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

/// A Kafka client configuration for the local broker.
pub(crate) fn kafka() -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set(
        "bootstrap.servers",
        env_or("SLUICE_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
    );
    config
}

/// A process's peak resident set size (VmHWM), in KiB.
pub(crate) fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A process's user + system CPU time so far, in seconds.
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| {
            let f: Vec<&str> = t[t.rfind(')')? + 2..].split_whitespace().collect();
            Some((f[11].parse::<f64>().ok()? + f[12].parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(0.0)
}

/// Sends SIGTERM to a process (the graceful stop `sluice standalone` drains on).
pub(crate) fn sigterm(pid: u32) {
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
}
