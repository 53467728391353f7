//! `sluice topics`: Kafka's `kafka-topics.sh` (`TopicCommand`) — list, describe, create, alter
//! (add partitions) and delete topics — with the same flags, output and messages.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rdkafka::admin::{
    AdminClient, AdminOptions, ConfigEntry, ConfigSource, NewPartitions, NewTopic,
    ResourceSpecifier, TopicReplication,
};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::metadata::{Metadata, MetadataTopic};
use rdkafka::types::RDKafkaErrorCode;

use super::{Failure, client_error_message, exit_code, include_list, is_internal_topic};

/// How long one admin request may take (the Java admin client's default API timeout is 60 s).
const TIMEOUT: Duration = Duration::from_secs(30);

/// Arguments of `sluice topics`, Kafka's `TopicCommandOptions`.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(about = "This tool helps to create, delete, describe, or change a topic.")]
pub struct Args {
    /// REQUIRED: The Kafka server to connect to.
    #[arg(long, value_name = "server to connect to")]
    pub(crate) bootstrap_server: String,
    /// Property file containing configs to be passed to Admin Client.
    #[arg(long, value_name = "command config property file")]
    pub(crate) command_config: Option<PathBuf>,
    /// List all available topics.
    #[arg(long)]
    pub(crate) list: bool,
    /// Create a new topic.
    #[arg(long)]
    pub(crate) create: bool,
    /// Delete a topic.
    #[arg(long)]
    pub(crate) delete: bool,
    /// Alter the number of partitions and replica assignment.
    #[arg(long)]
    pub(crate) alter: bool,
    /// List details for the given topics.
    #[arg(long)]
    pub(crate) describe: bool,
    /// The topic to create, alter, describe or delete. It also accepts a regular expression,
    /// except for --create option.
    #[arg(long, value_name = "topic")]
    pub(crate) topic: Option<String>,
    /// A topic configuration override for the topic being created (repeatable).
    #[arg(long = "config", value_name = "name=value")]
    pub(crate) config: Vec<String>,
    /// The number of partitions for the topic being created or altered. If not supplied with
    /// --create, the topic uses the cluster default.
    #[arg(long, value_name = "# of partitions", allow_negative_numbers = true)]
    pub(crate) partitions: Option<i32>,
    /// The replication factor for each partition in the topic being created. If not supplied,
    /// the topic uses the cluster default.
    #[arg(long, value_name = "replication factor", allow_negative_numbers = true)]
    pub(crate) replication_factor: Option<i32>,
    /// A list of manual partition-to-broker assignments for the topic being created or altered:
    /// `b1:b2,b3:b4,…` (replicas of partition 0, of partition 1, …).
    #[arg(
        long,
        value_name = "broker_id_for_part1_replica1 : broker_id_for_part1_replica2 , …"
    )]
    pub(crate) replica_assignment: Option<String>,
    /// If set when describing topics, only show under-replicated partitions.
    #[arg(long)]
    pub(crate) under_replicated_partitions: bool,
    /// If set when describing topics, only show partitions whose leader is not available.
    #[arg(long)]
    pub(crate) unavailable_partitions: bool,
    /// If set when describing topics, only show partitions whose isr count is less than the
    /// configured minimum.
    #[arg(long)]
    pub(crate) under_min_isr_partitions: bool,
    /// If set when describing topics, only show partitions whose isr count is equal to the
    /// configured minimum.
    #[arg(long)]
    pub(crate) at_min_isr_partitions: bool,
    /// If set when describing topics, only show topics that have overridden configs.
    #[arg(long)]
    pub(crate) topics_with_overrides: bool,
    /// If set when altering or deleting or describing topics, the action will only execute if
    /// the topic exists.
    #[arg(long)]
    pub(crate) if_exists: bool,
    /// If set when creating topics, the create request will not fail if the topic already
    /// exists.
    #[arg(long)]
    pub(crate) if_not_exists: bool,
    /// Exclude internal topics when listing or describing topics.
    #[arg(long)]
    pub(crate) exclude_internal: bool,
}

fn invalid_with(used: &str, other: &str) -> Failure {
    Failure::new(format!(
        "Option \"[{used}]\" can't be used with option \"[{other}]\""
    ))
}

/// Checks the argument combinations as Kafka's `TopicCommandOptions.checkArgs` does, with its
/// messages.
pub(crate) fn validate(args: &Args) -> Result<(), Failure> {
    let actions = [
        (args.create, "create"),
        (args.list, "list"),
        (args.alter, "alter"),
        (args.describe, "describe"),
        (args.delete, "delete"),
    ];
    if actions.iter().filter(|(used, _)| *used).count() != 1 {
        return Err(Failure::new(
            "Command must include exactly one action: --list, --describe, --create, --alter or --delete",
        ));
    }
    let action = actions
        .iter()
        .find(|(used, _)| *used)
        .map(|(_, name)| *name)
        .unwrap_or_default();
    if !args.list && !args.describe && args.topic.is_none() {
        return Err(Failure::new("Missing required argument \"[topic]\""));
    }
    if args.alter {
        if !args.config.is_empty() {
            return Err(Failure::new(
                "Option combination \"[bootstrap-server, config]\" can't be used with option \"[alter]\" (To alter topic configurations, the kafka-configs tool can be used.)",
            ));
        }
        if args.partitions.is_none() {
            return Err(Failure::new("Missing required argument \"[partitions]\""));
        }
    }
    let only = |used: bool, name: &str, allowed: &[&str]| -> Result<(), Failure> {
        if used && !allowed.contains(&action) {
            return Err(invalid_with(name, action));
        }
        Ok(())
    };
    only(!args.config.is_empty(), "config", &["alter", "create"])?;
    only(
        args.partitions.is_some(),
        "partitions",
        &["alter", "create"],
    )?;
    only(
        args.replication_factor.is_some(),
        "replication-factor",
        &["create"],
    )?;
    only(
        args.replica_assignment.is_some(),
        "replica-assignment",
        &["alter", "create"],
    )?;
    if args.create && args.replica_assignment.is_some() {
        if args.partitions.is_some() {
            return Err(invalid_with("replica-assignment", "partitions"));
        }
        if args.replication_factor.is_some() {
            return Err(invalid_with("replica-assignment", "replication-factor"));
        }
    }
    let reports = [
        (
            args.under_replicated_partitions,
            "under-replicated-partitions",
        ),
        (args.under_min_isr_partitions, "under-min-isr-partitions"),
        (args.at_min_isr_partitions, "at-min-isr-partitions"),
        (args.unavailable_partitions, "unavailable-partitions"),
    ];
    for (used, name) in reports {
        only(used, name, &["describe"])?;
        if used && args.topics_with_overrides {
            return Err(invalid_with(name, "topics-with-overrides"));
        }
    }
    only(
        args.topics_with_overrides,
        "topics-with-overrides",
        &["describe"],
    )?;
    only(
        args.if_exists,
        "if-exists",
        &["alter", "delete", "describe"],
    )?;
    only(args.if_not_exists, "if-not-exists", &["create"])?;
    only(
        args.exclude_internal,
        "exclude-internal",
        &["list", "describe"],
    )?;
    Ok(())
}

/// `--config k=v` values, as Kafka parses them (`key = value`, trimmed).
pub(crate) fn parse_configs(configs: &[String]) -> Result<Vec<(String, String)>, Failure> {
    static SEPARATOR: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"\s*=\s*").expect("separator"));
    configs
        .iter()
        .map(|config| {
            let mut parts: Vec<&str> = SEPARATOR.split(config).collect();
            while parts.last() == Some(&"") {
                parts.pop();
            }
            match parts.as_slice() {
                [key, value] => Ok((key.trim().to_string(), value.trim().to_string())),
                _ => Err(Failure::new(
                    "requirement failed: Invalid topic config: all configs to be added must be in the format \"key=val\".",
                )),
            }
        })
        .collect()
}

/// `--replica-assignment 1:2,2:3`: the replicas of each partition, as Kafka parses them.
pub(crate) fn parse_replica_assignment(text: &str) -> Result<Vec<Vec<i32>>, Failure> {
    let mut assignment: Vec<Vec<i32>> = Vec::new();
    for (partition, replicas) in text.split(',').enumerate() {
        let brokers = replicas
            .split(':')
            .map(|b| {
                b.trim().parse::<i32>().map_err(|_| {
                    Failure::new(format!(
                        "Error while executing topic command : For input string: \"{}\"",
                        b.trim()
                    ))
                })
            })
            .collect::<Result<Vec<i32>, _>>()?;
        let mut duplicates: Vec<String> = Vec::new();
        for (i, b) in brokers.iter().enumerate() {
            if brokers[..i].contains(b) && !duplicates.contains(&b.to_string()) {
                duplicates.push(b.to_string());
            }
        }
        if !duplicates.is_empty() {
            return Err(Failure::new(format!(
                "Error while executing topic command : Partition replica lists may not contain duplicate entries: {}",
                duplicates.join(",")
            )));
        }
        if let Some(first) = assignment.first()
            && first.len() != brokers.len()
        {
            let list: Vec<String> = brokers.iter().map(i32::to_string).collect();
            return Err(Failure::new(format!(
                "Error while executing topic command : Partition {partition} has different replication factor: [{}]",
                list.join(", ")
            )));
        }
        assignment.push(brokers);
    }
    Ok(assignment)
}

/// Kafka's `Topic.hasCollisionChars`: a name with a period or an underscore.
pub(crate) fn has_collision_chars(topic: &str) -> bool {
    topic.contains(['.', '_'])
}

/// The topics an action applies to: every topic, or those matching the `--topic` regex, sorted,
/// internal ones left out with `--exclude-internal`.
pub(crate) fn select_topics(
    all: &[String],
    filter: Option<&str>,
    exclude_internal: bool,
) -> Result<Vec<String>, Failure> {
    let pattern = filter.map(include_list).transpose()?;
    let mut topics: Vec<String> = all
        .iter()
        .filter(|t| pattern.as_ref().is_none_or(|p| p.is_match(t)))
        .filter(|t| !(exclude_internal && is_internal_topic(t)))
        .cloned()
        .collect();
    topics.sort();
    topics.dedup();
    Ok(topics)
}

/// Kafka's error when a named topic matched nothing (unless `--if-exists`).
pub(crate) fn ensure_exists(
    found: &[String],
    filter: Option<&str>,
    if_exists: bool,
) -> Result<(), Failure> {
    match filter {
        Some(topic) if !topic.is_empty() && !if_exists && found.is_empty() => Err(Failure::new(
            format!("Topic '{topic}' does not exist as expected"),
        )),
        _ => Ok(()),
    }
}

/// One partition as `--describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionInfo {
    pub(crate) id: i32,
    /// `None`: no leader.
    pub(crate) leader: Option<i32>,
    pub(crate) replicas: Vec<i32>,
    pub(crate) isr: Vec<i32>,
}

/// One topic as `--describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TopicInfo {
    pub(crate) name: String,
    pub(crate) partitions: Vec<PartitionInfo>,
    /// The topic's configs that are not defaults, in the broker's order (`None`: sensitive).
    pub(crate) overrides: Vec<(String, Option<String>)>,
    /// `min.insync.replicas` (1 when unknown).
    pub(crate) min_isr: usize,
}

/// Which `--describe` report was asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Report {
    /// `--under-replicated-partitions`.
    pub(crate) under_replicated: bool,
    /// `--unavailable-partitions`.
    pub(crate) unavailable: bool,
    /// `--under-min-isr-partitions`.
    pub(crate) under_min_isr: bool,
    /// `--at-min-isr-partitions`.
    pub(crate) at_min_isr: bool,
    /// `--topics-with-overrides`.
    pub(crate) with_overrides: bool,
}

impl Report {
    fn describe_configs(&self) -> bool {
        !(self.under_replicated || self.unavailable || self.under_min_isr || self.at_min_isr)
    }
}

fn joined(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

/// Kafka's `--describe` text for one topic: the topic line (`Topic: …\tPartitionCount: …`), then
/// a line per partition, filtered by the report options. librdkafka does not expose topic IDs
/// nor ELR, so `TopicId` is left out (as Kafka does for a zero ID) and ELR shows `N/A` (as
/// Kafka does when the broker does not report it).
pub(crate) fn format_topic(topic: &TopicInfo, report: &Report, live_brokers: &[i32]) -> String {
    let mut out = String::new();
    let mut partitions: Vec<&PartitionInfo> = topic.partitions.iter().collect();
    partitions.sort_by_key(|p| p.id);
    if report.describe_configs()
        && (!report.with_overrides || !topic.overrides.is_empty())
        && let Some(first) = partitions.first()
    {
        let configs: Vec<String> = topic
            .overrides
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_deref().unwrap_or("null")))
            .collect();
        out.push_str(&format!(
            "Topic: {}\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}\n",
            topic.name,
            partitions.len(),
            first.replicas.len(),
            configs.join(",")
        ));
    }
    if report.with_overrides {
        return out;
    }
    for partition in partitions {
        let has_leader = partition.leader.is_some();
        let show = report.describe_configs()
            || (report.under_replicated && partition.isr.len() < partition.replicas.len())
            || (report.unavailable
                && partition
                    .leader
                    .is_none_or(|leader| !live_brokers.contains(&leader)))
            || (report.under_min_isr && (!has_leader || partition.isr.len() < topic.min_isr))
            || (report.at_min_isr && partition.isr.len() == topic.min_isr);
        if show {
            out.push_str(&format!(
                "\tTopic: {}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}\tElr: N/A\tLastKnownElr: N/A\n",
                topic.name,
                partition.id,
                partition
                    .leader
                    .map_or_else(|| "none".to_string(), |l| l.to_string()),
                joined(&partition.replicas),
                joined(&partition.isr)
            ));
        }
    }
    out
}

/// The message of a failed create, delete or alter, as Kafka's broker words it.
pub(crate) fn topic_error(topic: &str, code: RDKafkaErrorCode) -> String {
    let message = match code {
        RDKafkaErrorCode::TopicAlreadyExists => format!("Topic '{topic}' already exists."),
        code => super::kafka_error_message(code),
    };
    format!("Error while executing topic command : {message}")
}

/// Runs `sluice topics`; the process exit code.
pub fn run(args: Args) -> ExitCode {
    exit_code(execute(&args))
}

struct Cluster {
    consumer: BaseConsumer,
    admin: AdminClient<DefaultClientContext>,
}

impl Cluster {
    fn metadata(&self) -> Result<Metadata, Failure> {
        self.consumer.fetch_metadata(None, TIMEOUT).map_err(|e| {
            Failure::new(format!(
                "Error while executing topic command : {}",
                client_error_message(&e)
            ))
        })
    }

    fn options() -> AdminOptions {
        AdminOptions::new()
            .request_timeout(Some(TIMEOUT))
            .operation_timeout(Some(TIMEOUT))
    }
}

fn topic_names(metadata: &Metadata) -> Vec<String> {
    metadata
        .topics()
        .iter()
        .filter(|t| {
            t.error()
                != Some(rdkafka::types::RDKafkaRespErr::RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        })
        .map(|t| t.name().to_string())
        .collect()
}

fn admin_failure(error: rdkafka::error::KafkaError) -> Failure {
    Failure::new(format!(
        "Error while executing topic command : {}",
        client_error_message(&error)
    ))
}

/// Runs the command, printing its output; an error is returned for stderr.
pub(crate) fn execute(args: &Args) -> Result<(), Failure> {
    validate(args)?;
    let properties = match &args.command_config {
        Some(path) => super::read_command_config(path)?,
        None => BTreeMap::new(),
    };
    let config = super::tool_client_config(&args.bootstrap_server, &properties)?;
    let cluster = Cluster {
        consumer: config.create().map_err(admin_failure)?,
        admin: config.create().map_err(admin_failure)?,
    };
    if args.create {
        create(&cluster, args)
    } else if args.list {
        let metadata = cluster.metadata()?;
        let topics = select_topics(
            &topic_names(&metadata),
            args.topic.as_deref(),
            args.exclude_internal,
        )?;
        println!("{}", topics.join("\n"));
        Ok(())
    } else if args.describe {
        describe(&cluster, args)
    } else if args.alter {
        alter(&cluster, args)
    } else {
        delete(&cluster, args)
    }
}

fn create(cluster: &Cluster, args: &Args) -> Result<(), Failure> {
    let name = args.topic.as_deref().unwrap_or_default();
    let configs = parse_configs(&args.config)?;
    let assignment = args
        .replica_assignment
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(parse_replica_assignment)
        .transpose()?;
    if has_collision_chars(name) {
        println!(
            "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both."
        );
    }
    if let Some(rf) = args.replication_factor
        && !(1..=i32::from(i16::MAX)).contains(&rf)
    {
        return Err(Failure::new(
            "The replication factor must be between 1 and 32767 inclusive",
        ));
    }
    if args.partitions.is_some_and(|p| p < 1) {
        return Err(Failure::new("The partitions must be greater than 0"));
    }
    let rows: Vec<&[i32]> = assignment.iter().flatten().map(Vec::as_slice).collect();
    let (partitions, replication) = match &assignment {
        Some(_) => (rows.len() as i32, TopicReplication::Variable(&rows)),
        None => (
            args.partitions.unwrap_or(-1),
            TopicReplication::Fixed(args.replication_factor.unwrap_or(-1)),
        ),
    };
    let mut topic = NewTopic::new(name, partitions, replication);
    for (k, v) in &configs {
        topic = topic.set(k, v);
    }
    let results = super::block_on(cluster.admin.create_topics([&topic], &Cluster::options()))?
        .map_err(admin_failure)?;
    match results.into_iter().next() {
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) if args.if_not_exists => Ok(()),
        Some(Err((_, code))) => Err(Failure::new(topic_error(name, code))),
        _ => {
            println!("Created topic {name}.");
            Ok(())
        }
    }
}

fn partition_infos(topic: &MetadataTopic) -> Vec<PartitionInfo> {
    topic
        .partitions()
        .iter()
        .map(|p| PartitionInfo {
            id: p.id(),
            leader: (p.leader() >= 0).then_some(p.leader()),
            replicas: p.replicas().to_vec(),
            isr: p.isr().to_vec(),
        })
        .collect()
}

/// Whether a described config is a default (Kafka prints only the others).
fn is_default(entry: &ConfigEntry) -> bool {
    entry.is_default || entry.source == ConfigSource::Default
}

fn describe(cluster: &Cluster, args: &Args) -> Result<(), Failure> {
    let metadata = cluster.metadata()?;
    let topics = select_topics(
        &topic_names(&metadata),
        args.topic.as_deref(),
        args.exclude_internal,
    )?;
    ensure_exists(&topics, args.topic.as_deref(), args.if_exists)?;
    if topics.is_empty() {
        return Ok(());
    }
    let specifiers: Vec<ResourceSpecifier<'_>> =
        topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
    let configs = super::block_on(
        cluster
            .admin
            .describe_configs(&specifiers, &Cluster::options()),
    )?
    .map_err(admin_failure)?;
    let report = Report {
        under_replicated: args.under_replicated_partitions,
        unavailable: args.unavailable_partitions,
        under_min_isr: args.under_min_isr_partitions,
        at_min_isr: args.at_min_isr_partitions,
        with_overrides: args.topics_with_overrides,
    };
    let live: Vec<i32> = metadata.brokers().iter().map(|b| b.id()).collect();
    for (name, config) in topics.iter().zip(configs) {
        let config = config.map_err(|code| Failure::new(topic_error(name, code)))?;
        let Some(topic) = metadata.topics().iter().find(|t| t.name() == name) else {
            continue;
        };
        let min_isr = config
            .get("min.insync.replicas")
            .and_then(|e| e.value.as_deref())
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let info = TopicInfo {
            name: name.clone(),
            partitions: partition_infos(topic),
            overrides: config
                .entries
                .iter()
                .filter(|e| !is_default(e))
                .map(|e| (e.name.clone(), e.value.clone()))
                .collect(),
            min_isr,
        };
        print!("{}", format_topic(&info, &report, &live));
    }
    Ok(())
}

fn alter(cluster: &Cluster, args: &Args) -> Result<(), Failure> {
    let metadata = cluster.metadata()?;
    let topics = select_topics(&topic_names(&metadata), args.topic.as_deref(), false)?;
    ensure_exists(&topics, args.topic.as_deref(), args.if_exists)?;
    if topics.is_empty() {
        return Ok(());
    }
    let count = args.partitions.unwrap_or_default().max(0) as usize;
    let assignment = args
        .replica_assignment
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(parse_replica_assignment)
        .transpose()?;
    let mut requests = Vec::new();
    let mut new_rows: Vec<Vec<&[i32]>> = Vec::new();
    for topic in &topics {
        let existing = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .map_or(0, |t| t.partitions().len());
        new_rows.push(
            assignment
                .iter()
                .flatten()
                .skip(existing)
                .map(Vec::as_slice)
                .collect(),
        );
    }
    for (topic, rows) in topics.iter().zip(&new_rows) {
        let mut request = NewPartitions::new(topic, count);
        if assignment.is_some() {
            request = request.assign(rows);
        }
        requests.push(request);
    }
    let results = super::block_on(
        cluster
            .admin
            .create_partitions(&requests, &Cluster::options()),
    )?
    .map_err(admin_failure)?;
    for result in results {
        if let Err((topic, code)) = result {
            return Err(Failure::new(topic_error(&topic, code)));
        }
    }
    Ok(())
}

fn delete(cluster: &Cluster, args: &Args) -> Result<(), Failure> {
    let metadata = cluster.metadata()?;
    let topics = select_topics(&topic_names(&metadata), args.topic.as_deref(), false)?;
    ensure_exists(&topics, args.topic.as_deref(), args.if_exists)?;
    if topics.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = topics.iter().map(String::as_str).collect();
    let results = super::block_on(cluster.admin.delete_topics(&names, &Cluster::options()))?
        .map_err(admin_failure)?;
    for result in results {
        if let Err((topic, code)) = result {
            return Err(Failure::new(topic_error(&topic, code)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Args {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        use clap::Parser;
        let mut argv = vec!["topics", "--bootstrap-server", "k:9092"];
        argv.extend_from_slice(list);
        Cli::try_parse_from(argv)
            .expect("clap accepts the arguments")
            .args
    }

    fn error(list: &[&str]) -> String {
        validate(&args(list)).unwrap_err().message
    }

    #[test]
    fn argument_combinations_use_kafkas_messages() {
        assert_eq!(
            error(&[]),
            "Command must include exactly one action: --list, --describe, --create, --alter or --delete"
        );
        assert_eq!(
            error(&["--list", "--create"]),
            "Command must include exactly one action: --list, --describe, --create, --alter or --delete"
        );
        assert_eq!(
            error(&["--create"]),
            "Missing required argument \"[topic]\""
        );
        assert_eq!(
            error(&["--alter", "--topic", "t"]),
            "Missing required argument \"[partitions]\""
        );
        assert_eq!(
            error(&["--list", "--partitions", "3"]),
            "Option \"[partitions]\" can't be used with option \"[list]\""
        );
        assert_eq!(
            error(&["--delete", "--topic", "t", "--if-not-exists"]),
            "Option \"[if-not-exists]\" can't be used with option \"[delete]\""
        );
        assert_eq!(
            error(&["--create", "--topic", "t", "--if-exists"]),
            "Option \"[if-exists]\" can't be used with option \"[create]\""
        );
        assert_eq!(
            error(&[
                "--create",
                "--topic",
                "t",
                "--replica-assignment",
                "1:2",
                "--partitions",
                "1"
            ]),
            "Option \"[replica-assignment]\" can't be used with option \"[partitions]\""
        );
        assert!(
            validate(&args(&[
                "--create",
                "--topic",
                "t",
                "--partitions",
                "3",
                "--replication-factor",
                "1",
                "--config",
                "cleanup.policy=compact",
                "--if-not-exists"
            ]))
            .is_ok()
        );
        assert!(validate(&args(&["--describe", "--under-replicated-partitions"])).is_ok());
        assert!(validate(&args(&["--list"])).is_ok());
    }

    #[test]
    fn configs_and_assignments() {
        assert_eq!(
            parse_configs(&[
                "cleanup.policy = compact".into(),
                "retention.ms=1000".into()
            ])
            .unwrap(),
            [
                ("cleanup.policy".to_string(), "compact".to_string()),
                ("retention.ms".to_string(), "1000".to_string())
            ]
        );
        for bad in ["a", "a=", "a=b=c"] {
            assert_eq!(
                parse_configs(&[bad.into()]).unwrap_err().message,
                "requirement failed: Invalid topic config: all configs to be added must be in the format \"key=val\".",
                "{bad}"
            );
        }
        assert_eq!(
            parse_replica_assignment("1:2, 2:3").unwrap(),
            [vec![1, 2], vec![2, 3]]
        );
        assert_eq!(
            parse_replica_assignment("1:1").unwrap_err().message,
            "Error while executing topic command : Partition replica lists may not contain duplicate entries: 1"
        );
        assert_eq!(
            parse_replica_assignment("1:2,3").unwrap_err().message,
            "Error while executing topic command : Partition 1 has different replication factor: [3]"
        );
        assert!(has_collision_chars("my_topic"));
        assert!(!has_collision_chars("my-topic"));
    }

    #[test]
    fn topic_selection() {
        let all: Vec<String> = ["orders", "__consumer_offsets", "users", "orders-dlq"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            select_topics(&all, None, false).unwrap(),
            ["__consumer_offsets", "orders", "orders-dlq", "users"]
        );
        assert_eq!(
            select_topics(&all, None, true).unwrap(),
            ["orders", "orders-dlq", "users"]
        );
        assert_eq!(
            select_topics(&all, Some("orders"), false).unwrap(),
            ["orders"]
        );
        assert_eq!(
            select_topics(&all, Some("orders.*"), false).unwrap(),
            ["orders", "orders-dlq"]
        );
        let none = select_topics(&all, Some("missing"), false).unwrap();
        assert_eq!(
            ensure_exists(&none, Some("missing"), false)
                .unwrap_err()
                .message,
            "Topic 'missing' does not exist as expected"
        );
        assert!(ensure_exists(&none, Some("missing"), true).is_ok());
        assert_eq!(
            topic_error("t", RDKafkaErrorCode::TopicAlreadyExists),
            "Error while executing topic command : Topic 't' already exists."
        );
    }

    #[test]
    fn describe_output() {
        let topic = TopicInfo {
            name: "orders".into(),
            partitions: vec![
                PartitionInfo {
                    id: 1,
                    leader: None,
                    replicas: vec![1, 2],
                    isr: vec![2],
                },
                PartitionInfo {
                    id: 0,
                    leader: Some(1),
                    replicas: vec![1, 2],
                    isr: vec![1, 2],
                },
            ],
            overrides: vec![
                ("cleanup.policy".into(), Some("compact".into())),
                ("secret".into(), None),
            ],
            min_isr: 2,
        };
        assert_eq!(
            format_topic(&topic, &Report::default(), &[1, 2]),
            "Topic: orders\tPartitionCount: 2\tReplicationFactor: 2\tConfigs: cleanup.policy=compact,secret=null\n\
             \tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2\tIsr: 1,2\tElr: N/A\tLastKnownElr: N/A\n\
             \tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 1,2\tIsr: 2\tElr: N/A\tLastKnownElr: N/A\n"
        );
        let under = Report {
            under_replicated: true,
            ..Report::default()
        };
        assert_eq!(
            format_topic(&topic, &under, &[1, 2]),
            "\tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 1,2\tIsr: 2\tElr: N/A\tLastKnownElr: N/A\n"
        );
        let at_min = Report {
            at_min_isr: true,
            ..Report::default()
        };
        assert!(format_topic(&topic, &at_min, &[1, 2]).contains("Partition: 0\t"));
        let overrides = Report {
            with_overrides: true,
            ..Report::default()
        };
        assert_eq!(format_topic(&topic, &overrides, &[1]).lines().count(), 1);
        let plain = TopicInfo {
            overrides: vec![],
            ..topic
        };
        assert_eq!(format_topic(&plain, &overrides, &[1]), "");
    }
}
