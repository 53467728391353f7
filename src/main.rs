//! The `sluice` binary: a thin CLI over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice::connector::Plugins;
use sluice::telemetry::{self, LogFormat};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its `mimalloc.h`: the 16th option).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long mimalloc keeps freed memory before returning it to the OS: 100 ms, not its 10 ms.
/// The pipelines free in one thread what another allocated, batch after batch. Returned at
/// once (0 ms), the kernel faulted and zeroed the same pages again for every batch: half the
/// sink's CPU on 30-column rows and 40 % of its throughput. 10 ms was no better; at 100 ms the
/// sink is back to ~10 CPU-s per million wide rows (BENCHMARKS.md). mimalloc's own
/// `MIMALLOC_PURGE_DELAY`, when set, wins.
const PURGE_DELAY_MS: std::ffi::c_long = 100;

#[allow(unsafe_code)] // The one FFI call: mimalloc has no safe API for its options.
fn set_purge_delay() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: sets a process-wide allocator option; mimalloc reads options atomically.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
}

/// mysql_async's packet-buffer pool, which it sizes from these variables when first used: at its
/// defaults (128 buffers of up to 4 MiB each) a sink writing 8 MiB statements of 256 KiB values
/// kept ~100 MB of idle buffers (227 MB peak; 138 MB at these 16 buffers of 1 MiB, same rate;
/// BENCHMARKS.md, big rows). A variable the user set wins.
const MYSQL_ASYNC_BUFFERS: [(&str, &str); 2] = [
    ("MYSQL_ASYNC_BUFFER_POOL_CAP", "16"),
    ("MYSQL_ASYNC_BUFFER_SIZE_CAP", "1048576"),
];

#[allow(unsafe_code)] // Setting the environment is unsafe once other threads may read it.
fn set_mysql_buffer_pool() {
    for (key, value) in MYSQL_ASYNC_BUFFERS {
        if std::env::var_os(key).is_none() {
            // SAFETY: called first thing in `main`, before any other thread exists.
            unsafe { std::env::set_var(key, value) };
        }
    }
}

/// Change-data-capture replication for MySQL/MariaDB: a drop-in replacement for Kafka Connect's
/// JDBC source and sink connectors.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about, long_about = None)]
struct Cli {
    /// Log line format.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "human",
        env = "SLUICE_LOG_FORMAT"
    )]
    log_format: LogFormat,

    /// Log level or filter (tracing EnvFilter syntax); RUST_LOG overrides it. Defaults to
    /// `info` for the workers; the console tools report their own errors, so by default they
    /// log warnings only and leave librdkafka's connection chatter out of their output.
    #[arg(long, global = true, env = "SLUICE_LOG_LEVEL")]
    log_level: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the long-running worker with Kafka Connect's REST API (default port 8083), like
    /// `connect-distributed`: connectors are created with `POST /connectors` and kept in the
    /// config topic.
    Worker {
        /// The worker configuration (Kafka Connect worker .properties).
        worker: PathBuf,
    },
    /// Run connectors in this process, like Kafka Connect's `connect-standalone`.
    Standalone {
        /// The worker configuration (Kafka Connect worker .properties).
        worker: PathBuf,
        /// Connector configurations: REST JSON ({"name":…,"config":{…}}), flat JSON or .properties.
        #[arg(required = true)]
        connectors: Vec<PathBuf>,
    },
    /// List, describe and delete consumer groups and reset their offsets, like Kafka's
    /// `kafka-consumer-groups.sh`.
    ConsumerGroups(sluice::tools::consumer_groups::Args),
    /// Create, list, describe, alter and delete topics, like Kafka's `kafka-topics.sh`.
    Topics(sluice::tools::topics::Args),
    /// Print a topic's records on standard output, like Kafka's `kafka-console-consumer.sh`.
    ConsoleConsumer(sluice::tools::console_consumer::Args),
    /// Send standard input's lines to a topic, like Kafka's `kafka-console-producer.sh`.
    ConsoleProducer(sluice::tools::console_producer::Args),
}

fn main() -> ExitCode {
    set_purge_delay();
    set_mysql_buffer_pool();
    let cli = Cli::parse();
    let default_level = match cli.command {
        Command::Worker { .. } | Command::Standalone { .. } => "info",
        _ => "warn,librdkafka=off",
    };
    telemetry::init(
        cli.log_format,
        cli.log_level.as_deref().unwrap_or(default_level),
    );
    let plugins = Plugins::builtin();
    match cli.command {
        Command::ConsumerGroups(args) => sluice::tools::consumer_groups::run(args),
        Command::Topics(args) => sluice::tools::topics::run(args),
        Command::ConsoleConsumer(args) => sluice::tools::console_consumer::run(args),
        Command::ConsoleProducer(args) => sluice::tools::console_producer::run(args),
        Command::Worker { worker } => {
            run("worker", sluice::runtime::load_worker(&worker), |worker| {
                sluice::daemon::run(worker, plugins)
            })
        }
        // Synchronous bootstrap: a bad file fails before any runtime or connection exists.
        Command::Standalone { worker, connectors } => run(
            "standalone worker",
            sluice::runtime::standalone::load(&worker, &connectors, &plugins),
            |(worker, connectors)| sluice::runtime::standalone::run(worker, connectors, plugins),
        ),
    }
}

/// Runs a worker from its loaded configuration: exit 2 when the configuration is bad (before
/// any runtime or connection exists), 1 when the worker fails, 0 after a clean stop.
fn run<C, F>(what: &str, loaded: sluice::Result<C>, worker: impl FnOnce(C) -> F) -> ExitCode
where
    F: std::future::Future<Output = sluice::Result<()>>,
{
    let config = match loaded {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {}", error.trace());
            return ExitCode::from(2);
        }
    };
    let runtime = match async_runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    match runtime.block_on(worker(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(message = "worker failed", worker = what, error = %error.trace());
            eprintln!("error: {}", error.trace());
            ExitCode::FAILURE
        }
    }
}

fn async_runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            eprintln!("error: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        })
}
