//! `sluice consumer-groups`: Kafka's `kafka-consumer-groups.sh` (`ConsumerGroupCommand`) —
//! list groups, describe their offsets, members or state, delete them, and reset their committed
//! offsets — with the same flags, columns and messages.
//!
//! A reset commits the planned offsets for the group from a consumer that never joins it (a
//! "simple" commit, as Kafka's admin client does), which the coordinator only accepts while the
//! group has no members; the group's state is checked first, with Kafka's message.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::metadata::Metadata;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaErrorCode;

use super::{Failure, client_error_message, columns, exit_code};
use crate::config::java_split;

/// A topic partition, ordered by topic then partition.
pub(crate) type Tp = (String, i32);

/// Kafka's `TopicPartition.toString()`: `topic-partition`.
pub(crate) fn tp_name(tp: &Tp) -> String {
    format!("{}-{}", tp.0, tp.1)
}

/// Arguments of `sluice consumer-groups`, Kafka's `ConsumerGroupCommandOptions`.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(
    about = "This tool helps to list all consumer groups, describe a consumer group, delete consumer group info, or reset consumer group offsets."
)]
pub struct Args {
    /// REQUIRED: The server(s) to connect to.
    #[arg(long, value_name = "server to connect to")]
    pub(crate) bootstrap_server: String,
    /// The consumer group we wish to act on.
    #[arg(long, value_name = "consumer group")]
    pub(crate) group: Vec<String>,
    /// The topic whose consumer group information should be included in the reset offset
    /// process. Partitions can be specified as `topic1:0,1,2`. Repeatable.
    #[arg(long, value_name = "topic")]
    pub(crate) topic: Vec<String>,
    /// Consider all topics assigned to a group in the `reset-offsets` process.
    #[arg(long)]
    pub(crate) all_topics: bool,
    /// List all consumer groups.
    #[arg(long)]
    pub(crate) list: bool,
    /// Describe consumer group and list offset lag (number of messages not yet processed)
    /// related to given group.
    #[arg(long)]
    pub(crate) describe: bool,
    /// Apply to all consumer groups.
    #[arg(long)]
    pub(crate) all_groups: bool,
    /// Pass in groups to delete topic partition offsets and ownership information over the
    /// entire consumer group. For instance --group g1 --group g2
    #[arg(long)]
    pub(crate) delete: bool,
    /// The timeout in milliseconds for each request to the cluster.
    #[arg(long, value_name = "timeout (ms)", default_value_t = 5000)]
    pub(crate) timeout: u64,
    /// Property file containing configs to be passed to Admin Client and Consumer.
    #[arg(long, value_name = "command config property file")]
    pub(crate) command_config: Option<PathBuf>,
    /// Reset offsets of consumer group. Supports one consumer group at the time, and instances
    /// should be inactive. --dry-run (the default) plans, --execute updates the offsets.
    #[arg(long)]
    pub(crate) reset_offsets: bool,
    /// Only show results without executing changes on Consumer Groups. Supported operations:
    /// reset-offsets.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Execute operation. Supported operations: reset-offsets.
    #[arg(long)]
    pub(crate) execute: bool,
    /// Export operation execution to a CSV file. Supported operations: reset-offsets.
    #[arg(long)]
    pub(crate) export: bool,
    /// Reset offsets to a specific offset.
    #[arg(long, value_name = "offset", allow_negative_numbers = true)]
    pub(crate) to_offset: Option<i64>,
    /// Reset offsets to values defined in CSV file.
    #[arg(long, value_name = "path to CSV file")]
    pub(crate) from_file: Option<PathBuf>,
    /// Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'
    #[arg(long, value_name = "datetime")]
    pub(crate) to_datetime: Option<String>,
    /// Reset offsets to offset by duration from current timestamp. Format: 'PnDTnHnMnS'
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub(crate) by_duration: Option<String>,
    /// Reset offsets to earliest offset.
    #[arg(long)]
    pub(crate) to_earliest: bool,
    /// Reset offsets to latest offset.
    #[arg(long)]
    pub(crate) to_latest: bool,
    /// Reset offsets to current offset.
    #[arg(long)]
    pub(crate) to_current: bool,
    /// Reset offsets shifting current offset by 'n', where 'n' can be positive or negative.
    #[arg(long, value_name = "number-of-offsets", allow_negative_numbers = true)]
    pub(crate) shift_by: Option<i64>,
    /// Describe members of the group (with --describe).
    #[arg(long)]
    pub(crate) members: bool,
    /// Provide additional information, if any, when describing the group.
    #[arg(long)]
    pub(crate) verbose: bool,
    /// Describe the group and list all topic partitions in the group along with their offset
    /// lag (the default sub-action of --describe).
    #[arg(long)]
    pub(crate) offsets: bool,
    /// With --describe, the state of the group; with --list, the state of every group, or only
    /// groups in the given comma-separated states.
    #[arg(long, value_name = "states", num_args = 0..=1, default_missing_value = "")]
    pub(crate) state: Option<String>,
}

/// Which groups an action applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Groups {
    Named(Vec<String>),
    All,
}

/// What `--describe` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    Offsets,
    Members,
    State,
}

/// Which partitions a reset covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    AllTopics,
    Topics(Vec<String>),
    /// The partitions named in the `--from-file` plan.
    Plan,
}

/// How the new offsets are computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scenario {
    ToOffset(i64),
    ShiftBy(i64),
    /// Epoch milliseconds.
    ToDatetime(i64),
    /// A duration in nanoseconds, subtracted from the current time.
    ByDuration(i128),
    ToEarliest,
    ToLatest,
    ToCurrent,
    /// group → partition → offset.
    FromFile(BTreeMap<String, BTreeMap<Tp, i64>>),
}

/// A checked `--reset-offsets` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reset {
    /// `--group` (repeated) or `--all-groups`.
    pub(crate) groups: Groups,
    /// `--topic` or `--all-topics`.
    pub(crate) scope: Scope,
    /// `--to-earliest`, `--to-offset`, `--shift-by`…
    pub(crate) scenario: Scenario,
    /// `--execute` (otherwise a dry run).
    pub(crate) execute: bool,
    /// `--export`: print the plan as CSV.
    pub(crate) export: bool,
}

/// A checked command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// `states`: `Some` with `--state` (empty: every state, shown in a STATE column).
    List {
        states: Option<Vec<String>>,
    },
    Describe {
        groups: Groups,
        view: View,
        verbose: bool,
    },
    Delete {
        groups: Groups,
    },
    Reset(Reset),
}

/// The group states Kafka knows, as it prints them.
pub(crate) const GROUP_STATES: &[&str] = &[
    "PreparingRebalance",
    "CompletingRebalance",
    "Stable",
    "Dead",
    "Empty",
    "Assigning",
    "Reconciling",
];

const ACTIONS: &str = "--list, --describe, --delete, --reset-offsets";
const NO_EXECUTE_WARNING: &str = "WARN: No action will be performed as the --execute option is missing.In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting.";

fn failed_due_to(message: impl std::fmt::Display) -> Failure {
    Failure::new(format!(
        "Error: Executing consumer group command failed due to {message}"
    ))
}

fn invalid_with(used: &str, other: &str) -> Failure {
    Failure::new(format!(
        "Option \"[{used}]\" can't be used with option \"[{other}]\""
    ))
}

/// Checks the argument combinations as Kafka's `ConsumerGroupCommandOptions.checkArgs` does, in
/// its order and with its messages. Returns the action and the warnings to print on stderr.
pub(crate) fn validate(args: &Args) -> Result<(Action, Vec<String>), Failure> {
    let mut warnings = Vec::new();
    for (used, name) in [
        (args.members, "members"),
        (args.verbose, "verbose"),
        (args.offsets, "offsets"),
    ] {
        if used && !args.describe {
            return Err(Failure::new(format!(
                "Option(s) [{name}] are unavailable given other options on the command line"
            )));
        }
    }
    if args.state.is_some() && !args.describe && !args.list {
        return Err(Failure::new(
            "Option(s) [state] are unavailable given other options on the command line",
        ));
    }
    let has_groups = !args.group.is_empty();
    let group_scope = "[all-groups], [group]";
    if args.describe {
        if !has_groups && !args.all_groups {
            return Err(Failure::new(format!(
                "Option [describe] takes one of these options: {group_scope}"
            )));
        }
        let views = [args.members, args.offsets, args.state.is_some()];
        if views.iter().filter(|v| **v).count() > 1 {
            return Err(Failure::new(
                "Option [describe] takes at most one of these options: [members], [offsets], [state]",
            ));
        }
        if args.state.as_deref().is_some_and(|s| !s.is_empty()) {
            return Err(Failure::new(
                "Option [describe] does not take a value for [state]",
            ));
        }
    }
    if args.delete {
        if !has_groups && !args.all_groups {
            return Err(Failure::new(format!(
                "Option [delete] takes one of these options: {group_scope}"
            )));
        }
        if !args.topic.is_empty() {
            return Err(Failure::new(
                "The consumer does not support topic-specific offset deletion from a consumer group.",
            ));
        }
    }
    let scenarios: Vec<&str> = [
        (args.to_offset.is_some(), "to-offset"),
        (args.shift_by.is_some(), "shift-by"),
        (args.to_datetime.is_some(), "to-datetime"),
        (args.by_duration.is_some(), "by-duration"),
        (args.to_earliest, "to-earliest"),
        (args.to_latest, "to-latest"),
        (args.to_current, "to-current"),
        (args.from_file.is_some(), "from-file"),
    ]
    .into_iter()
    .filter_map(|(used, name)| used.then_some(name))
    .collect();
    if args.reset_offsets {
        if args.dry_run && args.execute {
            return Err(Failure::new(
                "Option [reset-offsets] only accepts one of [execute] and [dry-run]",
            ));
        }
        if !args.dry_run && !args.execute {
            warnings.push(NO_EXECUTE_WARNING.to_string());
        }
        if !has_groups && !args.all_groups {
            return Err(Failure::new(format!(
                "Option [reset-offsets] takes one of these options: {group_scope}"
            )));
        }
        if scenarios.len() > 1 {
            return Err(invalid_with(scenarios[0], scenarios[1]));
        }
    }
    if has_groups && args.all_groups {
        return Err(invalid_with("group", "all-groups"));
    }
    if has_groups && args.list {
        return Err(invalid_with("group", "list"));
    }
    if !args.topic.is_empty() {
        if args.list {
            return Err(invalid_with("topic", "list"));
        }
        if args.describe {
            return Err(invalid_with("topic", "describe"));
        }
    }
    let actions = [args.list, args.describe, args.delete, args.reset_offsets];
    if actions.iter().filter(|a| **a).count() != 1 {
        return Err(Failure::new(format!(
            "Command must include exactly one action: {ACTIONS}"
        )));
    }
    let groups = if args.all_groups {
        Groups::All
    } else {
        let mut named: Vec<String> = Vec::new();
        for group in &args.group {
            if !named.contains(group) {
                named.push(group.clone());
            }
        }
        Groups::Named(named)
    };
    let action = if args.list {
        let states = match args.state.as_deref() {
            None => None,
            Some("") => Some(Vec::new()),
            Some(list) => Some(parse_states(list)?),
        };
        Action::List { states }
    } else if args.describe {
        let view = if args.members {
            View::Members
        } else if args.state.is_some() {
            View::State
        } else {
            View::Offsets
        };
        Action::Describe {
            groups,
            view,
            verbose: args.verbose,
        }
    } else if args.delete {
        Action::Delete { groups }
    } else {
        let scope = if args.all_topics {
            Scope::AllTopics
        } else if !args.topic.is_empty() {
            Scope::Topics(args.topic.clone())
        } else if args.from_file.is_some() {
            Scope::Plan
        } else {
            return Err(Failure::new(
                "One of the reset scopes should be defined: --all-topics, --topic.",
            ));
        };
        let scenario = if let Some(offset) = args.to_offset {
            Scenario::ToOffset(offset)
        } else if let Some(shift) = args.shift_by {
            Scenario::ShiftBy(shift)
        } else if let Some(datetime) = &args.to_datetime {
            Scenario::ToDatetime(parse_datetime(datetime)?)
        } else if let Some(duration) = &args.by_duration {
            Scenario::ByDuration(parse_duration(duration)?)
        } else if args.to_earliest {
            Scenario::ToEarliest
        } else if args.to_latest {
            Scenario::ToLatest
        } else if args.to_current {
            Scenario::ToCurrent
        } else if let Some(path) = &args.from_file {
            let text = std::fs::read_to_string(path)
                .map_err(|error| failed_due_to(format!("{}: {error}", path.display())))?;
            let single = match &groups {
                Groups::Named(named) if named.len() == 1 => Some(named[0].as_str()),
                _ => None,
            };
            Scenario::FromFile(parse_reset_plan(&text, single)?)
        } else {
            return Err(Failure::new(
                "Option '[reset-offsets]' requires one of the following scenarios: [[to-offset], [shift-by], [to-datetime], [by-duration], [to-earliest], [to-latest], [to-current], [from-file]]",
            ));
        };
        Action::Reset(Reset {
            groups,
            scope,
            scenario,
            execute: args.execute,
            export: args.export,
        })
    };
    Ok((action, warnings))
}

/// `--list --state a,b`: Kafka's case-insensitive group state names.
pub(crate) fn parse_states(list: &str) -> Result<Vec<String>, Failure> {
    let mut states = Vec::new();
    for raw in list.split(',') {
        let name = raw.trim();
        match GROUP_STATES.iter().find(|s| s.eq_ignore_ascii_case(name)) {
            Some(state) => states.push((*state).to_string()),
            None => {
                return Err(Failure::new(format!(
                    "Invalid state list '{list}'. Valid states are: {}",
                    GROUP_STATES.join(", ")
                )));
            }
        }
    }
    Ok(states)
}

/// `--to-datetime`, as Kafka's `Utils.getDateTime`: `yyyy-MM-dd'T'HH:mm:ss.SSS` with an
/// optional zone (`Z`, `±HH`, `±HHMM`, `±HH:MM`); without one the time is UTC (Kafka appends
/// `Z`). Returns epoch milliseconds.
pub(crate) fn parse_datetime(text: &str) -> Result<i64, Failure> {
    use chrono::{NaiveDate, NaiveTime};
    let Some((_, time_part)) = text.split_once('T') else {
        return Err(failed_due_to(
            "java.text.ParseException: Error parsing timestamp. It does not contain a 'T' according to ISO8601 format",
        ));
    };
    let zoned = if time_part.contains(['+', '-', 'Z']) {
        text.to_string()
    } else {
        format!("{text}Z")
    };
    let unparseable = || {
        failed_due_to(format!(
            "java.text.ParseException: Unparseable date: \"{zoned}\""
        ))
    };
    static PATTERN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"^(\d{1,9})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2}):(\d{1,2})\.(\d{1,3})(Z|([+-])(\d{2})(?::?(\d{2}))?)$",
        )
        .expect("datetime pattern")
    });
    let caps = PATTERN.captures(&zoned).ok_or_else(unparseable)?;
    let number = |i: usize| -> u32 { caps[i].parse().unwrap_or(u32::MAX) };
    let date =
        NaiveDate::from_ymd_opt(number(1) as i32, number(2), number(3)).ok_or_else(unparseable)?;
    let (hour, minute, second, millis) = (number(4), number(5), number(6), number(7));
    if hour > 23 || minute > 59 || second > 59 {
        return Err(unparseable());
    }
    let time =
        NaiveTime::from_hms_milli_opt(hour, minute, second, millis).ok_or_else(unparseable)?;
    let offset_seconds = match caps.get(9) {
        None => 0,
        Some(sign) => {
            let hours = i64::from(number(10));
            let minutes = caps.get(11).map_or(0, |_| i64::from(number(11)));
            if hours > 23 || minutes > 59 {
                return Err(unparseable());
            }
            let seconds = hours * 3600 + minutes * 60;
            if sign.as_str() == "-" {
                -seconds
            } else {
                seconds
            }
        }
    };
    Ok(date.and_time(time).and_utc().timestamp_millis() - offset_seconds * 1000)
}

/// `--by-duration`, as Java's `Duration.parse` (`PnDTnHnMnS`, signs and a fraction of seconds
/// allowed, case-insensitive). Returns nanoseconds.
pub(crate) fn parse_duration(text: &str) -> Result<i128, Failure> {
    static PATTERN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)^([-+]?)P(?:([-+]?[0-9]+)D)?(T(?:([-+]?[0-9]+)H)?(?:([-+]?[0-9]+)M)?(?:([-+]?[0-9]+)(?:[.,]([0-9]{0,9}))?S)?)?$",
        )
        .expect("duration pattern")
    });
    let bad = || failed_due_to("Text cannot be parsed to a Duration");
    let caps = PATTERN.captures(text).ok_or_else(bad)?;
    if caps
        .get(3)
        .is_some_and(|t| t.as_str().eq_ignore_ascii_case("T"))
    {
        return Err(bad());
    }
    if [2, 4, 5, 6].iter().all(|i| caps.get(*i).is_none()) {
        return Err(bad());
    }
    let field = |i: usize, unit: i128| -> Result<i128, Failure> {
        match caps.get(i) {
            None => Ok(0),
            Some(m) => m
                .as_str()
                .parse::<i64>()
                .map(|v| i128::from(v) * unit)
                .map_err(|_| bad()),
        }
    };
    const SECOND: i128 = 1_000_000_000;
    let mut nanos = field(2, 86_400 * SECOND)?
        + field(4, 3_600 * SECOND)?
        + field(5, 60 * SECOND)?
        + field(6, SECOND)?;
    if let Some(fraction) = caps.get(7).filter(|f| !f.as_str().is_empty()) {
        let digits = format!("{:0<9}", fraction.as_str());
        let value: i128 = digits.parse().map_err(|_| bad())?;
        let negative = caps.get(6).is_some_and(|s| s.as_str().starts_with('-'));
        nanos += if negative { -value } else { value };
    }
    if &caps[1] == "-" {
        nanos = -nanos;
    }
    Ok(nanos)
}

/// The epoch milliseconds `duration_nanos` before `now_ms` (Java's `now.minus(d).toEpochMilli()`).
pub(crate) fn timestamp_before(now_ms: i64, duration_nanos: i128) -> i64 {
    let nanos = i128::from(now_ms) * 1_000_000 - duration_nanos;
    nanos.div_euclid(1_000_000) as i64
}

/// A `--topic` argument of a reset: a whole topic, or `topic:p1,p2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TopicArg {
    Whole(String),
    Partitions(String, Vec<i32>),
}

/// Parses a `--topic` argument as Kafka's `GroupOffsetsResetter.parseTopicsWithPartitions`.
pub(crate) fn parse_topic_arg(arg: &str) -> Result<TopicArg, Failure> {
    if !arg.contains(':') {
        return Ok(TopicArg::Whole(arg.to_string()));
    }
    let parts = java_split(arg, ':');
    if parts.len() != 2 {
        return Err(Failure::new(format!(
            "Invalid topic arg '{arg}', expected topic name and partitions"
        )));
    }
    let partitions = java_split(parts[1], ',')
        .into_iter()
        .map(|p| {
            p.parse::<i32>().map_err(|_| {
                Failure::new(format!(
                    "Invalid partition '{p}' specified in topic arg '{arg}''"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TopicArg::Partitions(parts[0].to_string(), partitions))
}

/// Parses a `--from-file` reset plan: `topic,partition,offset` lines for a single group, or
/// `group,topic,partition,offset` lines.
pub(crate) fn parse_reset_plan(
    text: &str,
    single_group: Option<&str>,
) -> Result<BTreeMap<String, BTreeMap<Tp, i64>>, Failure> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let three = |line: &str| -> Option<(String, i32, i64)> {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        match fields.as_slice() {
            [topic, partition, offset] => Some((
                (*topic).to_string(),
                partition.parse().ok()?,
                offset.parse().ok()?,
            )),
            _ => None,
        }
    };
    let mut plan: BTreeMap<String, BTreeMap<Tp, i64>> = BTreeMap::new();
    let old_format = lines.first().is_some_and(|l| three(l).is_some());
    for line in lines {
        if let (Some(group), true) = (single_group, old_format) {
            let (topic, partition, offset) = three(line)
                .ok_or_else(|| failed_due_to(format!("invalid reset plan line '{line}'")))?;
            plan.entry(group.to_string())
                .or_default()
                .insert((topic, partition), offset);
        } else {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let parsed = match fields.as_slice() {
                [group, topic, partition, offset] => partition
                    .parse()
                    .ok()
                    .zip(offset.parse().ok())
                    .map(|(p, o)| ((*group).to_string(), (*topic).to_string(), p, o)),
                _ => None,
            };
            let (group, topic, partition, offset) =
                parsed.ok_or_else(|| failed_due_to(format!("invalid reset plan line '{line}'")))?;
            plan.entry(group)
                .or_default()
                .insert((topic, partition), offset);
        }
    }
    Ok(plan)
}

/// What is known of a partition when planning its new offset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PartitionState {
    /// The log start offset.
    pub(crate) log_start: i64,
    /// The log end offset (the next offset to be written).
    pub(crate) log_end: i64,
    /// The group's committed offset, if any.
    pub(crate) committed: Option<i64>,
    /// The first offset at or after the requested time (`None`: no such record).
    pub(crate) by_time: Option<i64>,
}

/// Clamps a requested offset to `[log start, log end]`, as Kafka's `checkOffsetsRange`; the
/// warning Kafka logs when it moves the offset.
pub(crate) fn clamp_offset(
    tp: &Tp,
    requested: i64,
    state: &PartitionState,
) -> (i64, Option<String>) {
    if requested > state.log_end {
        (
            state.log_end,
            Some(format!(
                "WARN New offset ({requested}) is higher than latest offset for topic partition {}. Value will be set to {}.",
                tp_name(tp),
                state.log_end
            )),
        )
    } else if requested < state.log_start {
        (
            state.log_start,
            Some(format!(
                "WARN New offset ({requested}) is lower than earliest offset for topic partition {}. Value will be set to {}.",
                tp_name(tp),
                state.log_start
            )),
        )
    } else {
        (requested, None)
    }
}

/// The planned offset of one partition and the warnings Kafka prints while planning it.
pub(crate) fn plan_offset(
    scenario: &Scenario,
    group: &str,
    tp: &Tp,
    state: &PartitionState,
) -> Result<(i64, Vec<String>), Failure> {
    let clamped = |requested: i64| {
        let (offset, warning) = clamp_offset(tp, requested, state);
        (offset, warning.into_iter().collect())
    };
    Ok(match scenario {
        Scenario::ToOffset(offset) => clamped(*offset),
        Scenario::ShiftBy(shift) => {
            let Some(current) = state.committed else {
                return Err(Failure::new(format!(
                    "Cannot shift offset for partition {} since there is no current committed offset",
                    tp_name(tp)
                )));
            };
            clamped(current.saturating_add(*shift))
        }
        Scenario::ToEarliest => (state.log_start, Vec::new()),
        Scenario::ToLatest => (state.log_end, Vec::new()),
        Scenario::ToCurrent => (state.committed.unwrap_or(state.log_end), Vec::new()),
        Scenario::ToDatetime(_) | Scenario::ByDuration(_) => match state.by_time {
            Some(offset) => (offset, Vec::new()),
            None => (
                state.log_end,
                vec![format!(
                    "\nWarn: Partition {} from topic {} is empty. Falling back to latest known offset.",
                    tp.1, tp.0
                )],
            ),
        },
        Scenario::FromFile(plan) => {
            let requested = plan
                .get(group)
                .and_then(|offsets| offsets.get(tp))
                .copied()
                .unwrap_or(state.log_end);
            clamped(requested)
        }
    })
}

/// Kafka's reset plan table (`GroupOffsetsResetter.printOffsetsToReset`).
pub(crate) fn format_reset_plan(plans: &BTreeMap<String, BTreeMap<Tp, i64>>) -> String {
    let group_width = plans.keys().map(String::len).max().unwrap_or(0).max(15);
    let topic_width = plans
        .values()
        .flat_map(|p| p.keys().map(|tp| tp.0.len()))
        .max()
        .unwrap_or(0)
        .max(15);
    let widths = [group_width, topic_width, 10];
    let mut out = String::new();
    if !plans.is_empty() {
        out.push('\n');
        out.push_str(&columns(
            &["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"],
            &widths,
        ));
    }
    for (group, plan) in plans {
        for ((topic, partition), offset) in plan {
            out.push('\n');
            out.push_str(&columns(
                &[group, topic, &partition.to_string(), &offset.to_string()],
                &widths,
            ));
        }
    }
    out.push('\n');
    out
}

/// `--export`: the plan as Kafka's CSV (`topic,partition,offset`, with the group first when
/// several groups were given).
pub(crate) fn format_reset_csv(
    plans: &BTreeMap<String, BTreeMap<Tp, i64>>,
    with_group: bool,
) -> String {
    let mut out = String::new();
    for (group, plan) in plans {
        for ((topic, partition), offset) in plan {
            if with_group {
                out.push_str(&format!("{group},{topic},{partition},{offset}\n"));
            } else {
                out.push_str(&format!("{topic},{partition},{offset}\n"));
            }
        }
    }
    out
}

/// A group member as DescribeGroups reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) consumer_id: String,
    pub(crate) client_id: String,
    pub(crate) host: String,
    pub(crate) assignment: Vec<Tp>,
}

/// A group as DescribeGroups reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GroupSnapshot {
    /// The group id.
    pub(crate) name: String,
    /// `Stable`, `Empty`, `PreparingRebalance`, `Dead`…
    pub(crate) state: String,
    /// `consumer` for consumer groups.
    pub(crate) protocol_type: String,
    /// The assignor (`range`…); empty without members.
    pub(crate) protocol: String,
    /// Members and their assignments.
    pub(crate) members: Vec<Member>,
}

/// Decodes a consumer-protocol member assignment (`ConsumerProtocolAssignment`: version, then
/// topics with their partitions); an undecodable one is empty.
pub(crate) fn decode_assignment(bytes: &[u8]) -> Vec<Tp> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if bytes.len() < n {
            return None;
        }
        let (head, tail) = bytes.split_at(n);
        *bytes = tail;
        Some(head)
    }
    fn i16_(bytes: &mut &[u8]) -> Option<i16> {
        take(bytes, 2).map(|b| i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32_(bytes: &mut &[u8]) -> Option<i32> {
        take(bytes, 4).map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn decode(mut bytes: &[u8]) -> Option<Vec<Tp>> {
        let bytes = &mut bytes;
        let _version = i16_(bytes)?;
        let topics = i32_(bytes)?;
        let mut out = Vec::new();
        for _ in 0..topics.max(0) {
            let len = i16_(bytes)?;
            let name = std::str::from_utf8(take(bytes, usize::try_from(len).ok()?)?).ok()?;
            let partitions = i32_(bytes)?;
            for _ in 0..partitions.max(0) {
                out.push((name.to_string(), i32_(bytes)?));
            }
        }
        Some(out)
    }
    decode(bytes).unwrap_or_default()
}

/// One row of `--describe` (offsets view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OffsetRow {
    pub(crate) group: String,
    pub(crate) topic: Option<String>,
    pub(crate) partition: Option<i32>,
    pub(crate) current: Option<i64>,
    pub(crate) log_end: Option<i64>,
    pub(crate) consumer_id: String,
    pub(crate) host: String,
    pub(crate) client_id: String,
}

impl OffsetRow {
    /// Kafka's lag: log end − committed, when both are known.
    pub(crate) fn lag(&self) -> Option<i64> {
        match (self.current, self.log_end) {
            (Some(current), Some(end)) if current != -1 => Some(end - current),
            _ => None,
        }
    }
}

/// The partitions whose log end offsets `--describe` needs: every assigned and every committed
/// partition.
pub(crate) fn described_partitions(
    group: &GroupSnapshot,
    committed: &BTreeMap<Tp, i64>,
) -> BTreeSet<Tp> {
    group
        .members
        .iter()
        .flat_map(|m| m.assignment.iter().cloned())
        .chain(committed.keys().cloned())
        .collect()
}

/// The rows of `--describe` as Kafka's `collectGroupsOffsets` builds them: members with
/// partitions first (most partitions first), each member's partitions by topic and partition,
/// then committed partitions no member owns, with `-` for the consumer.
pub(crate) fn offset_rows(
    group: &GroupSnapshot,
    committed: &BTreeMap<Tp, i64>,
    log_ends: &BTreeMap<Tp, i64>,
) -> Vec<OffsetRow> {
    let mut members: Vec<&Member> = group
        .members
        .iter()
        .filter(|m| !m.assignment.is_empty())
        .collect();
    members.sort_by_key(|m| std::cmp::Reverse(m.assignment.len()));
    let row = |tp: &Tp, consumer: &str, host: &str, client: &str| OffsetRow {
        group: group.name.clone(),
        topic: Some(tp.0.clone()),
        partition: Some(tp.1),
        current: committed.get(tp).copied(),
        log_end: log_ends.get(tp).copied(),
        consumer_id: consumer.to_string(),
        host: host.to_string(),
        client_id: client.to_string(),
    };
    let mut rows = Vec::new();
    let mut assigned = BTreeSet::new();
    for member in members {
        let partitions: BTreeSet<&Tp> = member.assignment.iter().collect();
        for tp in partitions {
            assigned.insert(tp.clone());
            rows.push(row(
                tp,
                &member.consumer_id,
                &member.host,
                &member.client_id,
            ));
        }
    }
    for tp in committed.keys().filter(|tp| !assigned.contains(*tp)) {
        rows.push(row(tp, "-", "-", "-"));
    }
    rows
}

fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// Kafka's offsets table (`printOffsets`): a blank line, the header, the rows, a newline.
pub(crate) fn format_offsets(rows: &[OffsetRow], verbose: bool) -> String {
    let width = |f: &dyn Fn(&OffsetRow) -> usize| rows.iter().map(f).max().unwrap_or(0).max(15);
    let group_width = width(&|r| r.group.len());
    let topic_width = width(&|r| r.topic.as_deref().unwrap_or("-").len());
    let consumer_width = width(&|r| r.consumer_id.len());
    let host_width = width(&|r| r.host.len());
    let mut widths = vec![group_width, topic_width, 10];
    if verbose {
        widths.push(15);
    }
    widths.extend([15, 15, 15, consumer_width, host_width]);
    let mut header = vec!["GROUP", "TOPIC", "PARTITION"];
    if verbose {
        header.push("LEADER-EPOCH");
    }
    header.extend([
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]);
    let mut out = format!("\n{}", columns(&header, &widths));
    for row in rows {
        let mut values = vec![
            row.group.clone(),
            row.topic.clone().unwrap_or_else(|| "-".into()),
            or_dash(row.partition),
        ];
        if verbose {
            values.push("-".into());
        }
        values.extend([
            or_dash(row.current),
            or_dash(row.log_end),
            or_dash(row.lag()),
            row.consumer_id.clone(),
            row.host.clone(),
            row.client_id.clone(),
        ]);
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        out.push('\n');
        out.push_str(&columns(&values, &widths));
    }
    out.push('\n');
    out
}

/// Kafka's `topic:0,1;other:2` assignment string (topics and partitions sorted).
pub(crate) fn assignment_string(assignment: &[Tp]) -> String {
    let mut by_topic: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
    for (topic, partition) in assignment {
        by_topic.entry(topic).or_default().insert(*partition);
    }
    by_topic
        .into_iter()
        .map(|(topic, partitions)| {
            let list: Vec<String> = partitions.iter().map(i32::to_string).collect();
            format!("{topic}:{}", list.join(","))
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// Kafka's members table (`printMembers`); `--verbose` adds the epochs and assignments (classic
/// groups have no epochs nor target assignment: `-`).
pub(crate) fn format_members(group: &GroupSnapshot, verbose: bool) -> String {
    let members = &group.members;
    let width = |f: &dyn Fn(&Member) -> usize, min: usize| {
        members.iter().map(f).max().unwrap_or(0).max(min)
    };
    let group_width = group.name.len().max(15);
    let consumer_width = width(&|m| m.consumer_id.len(), 15);
    let host_width = width(&|m| m.host.len(), 15);
    let client_width = width(&|m| m.client_id.len(), 15);
    let assignments: Vec<String> = members
        .iter()
        .map(|m| {
            if m.assignment.is_empty() {
                "-".to_string()
            } else {
                assignment_string(&m.assignment)
            }
        })
        .collect();
    let current_width = assignments
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(0)
        .max(20);
    let widths = [group_width, consumer_width, host_width, client_width, 15];
    let verbose_widths = [15, current_width, 15, 20];
    let mut out = String::from("\n");
    out.push_str(&columns(
        &["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"],
        &widths,
    ));
    out.push(' ');
    if verbose {
        out.push_str(&columns(
            &[
                "CURRENT-EPOCH",
                "CURRENT-ASSIGNMENT",
                "TARGET-EPOCH",
                "TARGET-ASSIGNMENT",
            ],
            &verbose_widths,
        ));
    }
    out.push('\n');
    for (member, assignment) in members.iter().zip(&assignments) {
        let count = member.assignment.len().to_string();
        out.push_str(&columns(
            &[
                &group.name,
                &member.consumer_id,
                &member.host,
                &member.client_id,
                &count,
            ],
            &widths,
        ));
        out.push(' ');
        if verbose {
            out.push_str(&columns(&["-", assignment, "-", "-"], &verbose_widths));
        }
        out.push('\n');
    }
    out
}

/// Kafka's state table (`printStates`). `coordinator`: `host:port  (id)`.
pub(crate) fn format_state(group: &GroupSnapshot, coordinator: &str, verbose: bool) -> String {
    let group_width = group.name.len().max(15);
    let coordinator_width = coordinator.len().max(25);
    let strategy = if group.protocol.is_empty() {
        "-"
    } else {
        &group.protocol
    };
    let members = group.members.len().to_string();
    let (header, row, widths): (Vec<&str>, Vec<&str>, Vec<usize>) = if verbose {
        (
            vec![
                "GROUP",
                "COORDINATOR (ID)",
                "ASSIGNMENT-STRATEGY",
                "STATE",
                "GROUP-EPOCH",
                "TARGET-ASSIGNMENT-EPOCH",
                "#MEMBERS",
            ],
            vec![
                &group.name,
                coordinator,
                strategy,
                &group.state,
                "-",
                "-",
                &members,
            ],
            vec![group_width, coordinator_width, 20, 20, 15, 25],
        )
    } else {
        (
            vec![
                "GROUP",
                "COORDINATOR (ID)",
                "ASSIGNMENT-STRATEGY",
                "STATE",
                "#MEMBERS",
            ],
            vec![&group.name, coordinator, strategy, &group.state, &members],
            vec![group_width, coordinator_width, 20, 20],
        )
    };
    format!(
        "\n{}\n{}\n",
        columns(&header, &widths),
        columns(&row, &widths)
    )
}

/// `--list --state`: Kafka's `printGroupInfo` table.
pub(crate) fn format_group_list(groups: &[(String, String)]) -> String {
    let width = groups
        .iter()
        .map(|(name, _)| name.len().max(15))
        .max()
        .unwrap_or(15)
        + 10;
    let widths = [width, 20];
    let mut out = columns(&["GROUP", "STATE"], &widths);
    out.push('\n');
    for (name, state) in groups {
        out.push_str(&columns(&[name, state], &widths));
        out.push('\n');
    }
    out
}

/// Java's `String.hashCode`.
pub(crate) fn java_string_hash(text: &str) -> i32 {
    text.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The `__consumer_offsets` partition that holds a group (its coordinator is that partition's
/// leader): `abs(groupId.hashCode) % partitions`, with Kafka's `Utils.abs`.
pub(crate) fn offsets_partition_for(group: &str, partitions: i32) -> i32 {
    let hash = java_string_hash(group);
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    abs % partitions.max(1)
}

/// The notice Kafka prints on stderr for a group's state before describing it, and whether the
/// group exists.
fn state_notice(group: &str, state: &str) -> (Option<String>, bool) {
    match state {
        "Dead" => (
            Some(format!("Error: Consumer group '{group}' does not exist.")),
            false,
        ),
        "Empty" => (
            Some(format!("\nConsumer group '{group}' has no active members.")),
            true,
        ),
        "PreparingRebalance" | "CompletingRebalance" | "Assigning" | "Reconciling" => (
            Some(format!(
                "\nWarning: Consumer group '{group}' is rebalancing."
            )),
            true,
        ),
        _ => (None, true),
    }
}

/// The Java exception Kafka names when a group cannot be deleted.
fn delete_error(code: RDKafkaErrorCode) -> String {
    let class = match code {
        RDKafkaErrorCode::NonEmptyGroup => "GroupNotEmptyException",
        RDKafkaErrorCode::GroupIdNotFound => "GroupIdNotFoundException",
        RDKafkaErrorCode::GroupAuthorizationFailed => "GroupAuthorizationException",
        RDKafkaErrorCode::InvalidGroupId => "InvalidGroupIdException",
        RDKafkaErrorCode::CoordinatorNotAvailable => "CoordinatorNotAvailableException",
        RDKafkaErrorCode::NotCoordinator => "NotCoordinatorException",
        _ => return super::kafka_error_message(code),
    };
    format!(
        "org.apache.kafka.common.errors.{class}: {}",
        super::kafka_error_message(code)
    )
}

/// Runs `sluice consumer-groups`; the process exit code.
pub fn run(args: Args) -> ExitCode {
    exit_code(execute(&args))
}

/// Runs the command, printing its output; an error is returned for stderr.
pub(crate) fn execute(args: &Args) -> Result<(), Failure> {
    let (action, warnings) = validate(args)?;
    for warning in warnings {
        eprintln!("{warning}");
    }
    let properties = match &args.command_config {
        Some(path) => super::read_command_config(path)?,
        None => BTreeMap::new(),
    };
    let config = super::tool_client_config(&args.bootstrap_server, &properties)?;
    let cluster = Cluster::new(config, Duration::from_millis(args.timeout.max(1)))?;
    match action {
        Action::List { states } => list(&cluster, states),
        Action::Describe {
            groups,
            view,
            verbose,
        } => describe(&cluster, &groups, view, verbose),
        Action::Delete { groups } => delete(&cluster, &groups),
        Action::Reset(reset) => {
            let single = matches!(&reset.groups, Groups::Named(g) if g.len() == 1);
            reset_offsets(&cluster, &reset, single)
        }
    }
}

/// The cluster as these commands see it: a consumer outside any group for metadata, group
/// descriptions and watermarks, and one consumer per group for its committed offsets.
struct Cluster {
    config: ClientConfig,
    consumer: BaseConsumer,
    timeout: Duration,
}

impl Cluster {
    fn new(config: ClientConfig, timeout: Duration) -> Result<Cluster, Failure> {
        let consumer: BaseConsumer = config
            .clone()
            .set("enable.auto.commit", "false")
            .create()
            .map_err(|e| failed_due_to(e.to_string()))?;
        Ok(Cluster {
            config,
            consumer,
            timeout,
        })
    }

    fn metadata(&self) -> Result<Metadata, Failure> {
        self.consumer
            .fetch_metadata(None, self.timeout)
            .map_err(|e| failed_due_to(client_error_message(&e)))
    }

    fn snapshot(info: &rdkafka::groups::GroupInfo) -> GroupSnapshot {
        let consumer_protocol = matches!(info.protocol_type(), "consumer" | "");
        GroupSnapshot {
            name: info.name().to_string(),
            state: info.state().to_string(),
            protocol_type: info.protocol_type().to_string(),
            protocol: info.protocol().to_string(),
            members: info
                .members()
                .iter()
                .map(|m| Member {
                    consumer_id: m.id().to_string(),
                    client_id: m.client_id().to_string(),
                    host: m.client_host().to_string(),
                    assignment: match m.assignment() {
                        Some(bytes) if consumer_protocol => decode_assignment(bytes),
                        _ => Vec::new(),
                    },
                })
                .collect(),
        }
    }

    /// Every group the brokers list, described.
    fn groups(&self) -> Result<Vec<GroupSnapshot>, Failure> {
        let list = self
            .consumer
            .fetch_group_list(None, self.timeout)
            .map_err(|e| failed_due_to(client_error_message(&e)))?;
        let mut groups: Vec<GroupSnapshot> = list.groups().iter().map(Self::snapshot).collect();
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(groups)
    }

    /// The consumer groups (protocol type `consumer`, or none for groups that only commit).
    fn consumer_groups(&self) -> Result<Vec<GroupSnapshot>, Failure> {
        Ok(self
            .groups()?
            .into_iter()
            .filter(|g| matches!(g.protocol_type.as_str(), "consumer" | ""))
            .collect())
    }

    /// One group, `state` `Dead` when no broker knows it.
    fn group(&self, name: &str) -> Result<GroupSnapshot, Failure> {
        let list = self
            .consumer
            .fetch_group_list(Some(name), self.timeout)
            .map_err(|e| failed_due_to(client_error_message(&e)))?;
        Ok(list
            .groups()
            .iter()
            .find(|g| g.name() == name)
            .map(Self::snapshot)
            .unwrap_or_else(|| GroupSnapshot {
                name: name.to_string(),
                state: "Dead".to_string(),
                ..GroupSnapshot::default()
            }))
    }

    fn resolve_groups(&self, groups: &Groups) -> Result<Vec<String>, Failure> {
        Ok(match groups {
            Groups::Named(names) => {
                let mut names = names.clone();
                names.sort();
                names
            }
            Groups::All => self
                .consumer_groups()?
                .into_iter()
                .map(|g| g.name)
                .collect(),
        })
    }

    fn group_consumer(&self, group: &str) -> Result<BaseConsumer, Failure> {
        self.config
            .clone()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .create()
            .map_err(|e| failed_due_to(e.to_string()))
    }

    /// The group's committed offsets on `partitions` (those with none are left out).
    fn committed(&self, group: &str, partitions: &[Tp]) -> Result<BTreeMap<Tp, i64>, Failure> {
        if partitions.is_empty() {
            return Ok(BTreeMap::new());
        }
        let consumer = self.group_consumer(group)?;
        let mut list = TopicPartitionList::new();
        for (topic, partition) in partitions {
            list.add_partition(topic, *partition);
        }
        let committed = consumer
            .committed_offsets(list, self.timeout)
            .map_err(|e| failed_due_to(client_error_message(&e)))?;
        Ok(committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) if o >= 0 => Some(((e.topic().to_string(), e.partition()), o)),
                _ => None,
            })
            .collect())
    }

    /// Every committed offset of the group: Kafka asks for all of them at once; librdkafka asks
    /// per partition, so every partition of the cluster is asked for.
    fn all_committed(
        &self,
        group: &str,
        metadata: &Metadata,
    ) -> Result<BTreeMap<Tp, i64>, Failure> {
        let partitions: Vec<Tp> = metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .flat_map(|t| {
                t.partitions()
                    .iter()
                    .map(|p| (t.name().to_string(), p.id()))
            })
            .collect();
        self.committed(group, &partitions)
    }

    fn watermarks(&self, tp: &Tp) -> Result<(i64, i64), Failure> {
        self.consumer
            .fetch_watermarks(&tp.0, tp.1, self.timeout)
            .map_err(|e| failed_due_to(client_error_message(&e)))
    }

    /// The first offset at or after `timestamp` per partition (`None`: no such record).
    fn offsets_for_time(
        &self,
        partitions: &[Tp],
        timestamp: i64,
    ) -> Result<BTreeMap<Tp, Option<i64>>, Failure> {
        let mut list = TopicPartitionList::new();
        for (topic, partition) in partitions {
            list.add_partition_offset(topic, *partition, Offset::Offset(timestamp))
                .map_err(|e| failed_due_to(client_error_message(&e)))?;
        }
        let found = self
            .consumer
            .offsets_for_times(list, self.timeout)
            .map_err(|e| failed_due_to(client_error_message(&e)))?;
        Ok(found
            .elements()
            .iter()
            .map(|e| {
                let offset = match e.offset() {
                    Offset::Offset(o) if o >= 0 => Some(o),
                    _ => None,
                };
                ((e.topic().to_string(), e.partition()), offset)
            })
            .collect())
    }

    /// Commits `offsets` for the group from a consumer that is not a member (Kafka's
    /// `alterConsumerGroupOffsets`).
    fn commit(&self, group: &str, offsets: &BTreeMap<Tp, i64>) -> Result<(), Failure> {
        if offsets.is_empty() {
            return Ok(());
        }
        let consumer = self.group_consumer(group)?;
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in offsets {
            list.add_partition_offset(topic, *partition, Offset::Offset(*offset))
                .map_err(|e| failed_due_to(client_error_message(&e)))?;
        }
        consumer
            .commit(&list, CommitMode::Sync)
            .map_err(|e| failed_due_to(client_error_message(&e)))
    }

    /// `host:port  (id)` of the group's coordinator: the leader of its `__consumer_offsets`
    /// partition, or the only broker.
    fn coordinator(&self, group: &str, metadata: &Metadata) -> String {
        let broker = |id: i32| {
            metadata
                .brokers()
                .iter()
                .find(|b| b.id() == id)
                .map(|b| format!("{}:{}  ({})", b.host(), b.port(), b.id()))
        };
        let from_offsets_topic = metadata
            .topics()
            .iter()
            .find(|t| t.name() == "__consumer_offsets" && !t.partitions().is_empty())
            .and_then(|t| {
                let partition = offsets_partition_for(group, t.partitions().len() as i32);
                t.partitions()
                    .iter()
                    .find(|p| p.id() == partition)
                    .and_then(|p| broker(p.leader()))
            });
        from_offsets_topic
            .or_else(|| match metadata.brokers() {
                [only] => broker(only.id()),
                _ => None,
            })
            .unwrap_or_else(|| "-".to_string())
    }
}

fn list(cluster: &Cluster, states: Option<Vec<String>>) -> Result<(), Failure> {
    let groups = cluster.consumer_groups()?;
    match states {
        None => {
            for group in groups {
                println!("{}", group.name);
            }
        }
        Some(states) => {
            let rows: Vec<(String, String)> = groups
                .into_iter()
                .filter(|g| states.is_empty() || states.contains(&g.state))
                .map(|g| (g.name, g.state))
                .collect();
            print!("{}", format_group_list(&rows));
        }
    }
    Ok(())
}

fn describe(cluster: &Cluster, groups: &Groups, view: View, verbose: bool) -> Result<(), Failure> {
    let names = cluster.resolve_groups(groups)?;
    let metadata = cluster.metadata()?;
    let mut errors = Vec::new();
    for name in names {
        let group = cluster.group(&name)?;
        let (notice, exists) = state_notice(&name, &group.state);
        if !exists {
            errors.push(notice.unwrap_or_default());
            continue;
        }
        match view {
            View::Offsets => {
                let committed = cluster.all_committed(&name, &metadata)?;
                let mut log_ends = BTreeMap::new();
                for tp in described_partitions(&group, &committed) {
                    if let Ok((_, end)) = cluster.watermarks(&tp) {
                        log_ends.insert(tp, end);
                    }
                }
                let rows = offset_rows(&group, &committed, &log_ends);
                if let Some(notice) = notice {
                    eprintln!("{notice}");
                }
                if !rows.is_empty() {
                    print!("{}", format_offsets(&rows, verbose));
                }
            }
            View::Members => {
                if let Some(notice) = notice {
                    eprintln!("{notice}");
                }
                print!("{}", format_members(&group, verbose));
            }
            View::State => {
                if let Some(notice) = notice {
                    eprintln!("{notice}");
                }
                let coordinator = cluster.coordinator(&name, &metadata);
                print!("{}", format_state(&group, &coordinator, verbose));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(errors.join("\n")))
    }
}

fn delete(cluster: &Cluster, groups: &Groups) -> Result<(), Failure> {
    let names = cluster.resolve_groups(groups)?;
    let admin: AdminClient<DefaultClientContext> = cluster
        .config
        .create()
        .map_err(|e| failed_due_to(e.to_string()))?;
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let options = AdminOptions::new().request_timeout(Some(cluster.timeout));
    let results = super::block_on(admin.delete_groups(&refs, &options))?
        .map_err(|e| failed_due_to(client_error_message(&e)))?;
    let mut deleted = Vec::new();
    let mut failed = Vec::new();
    for result in results {
        match result {
            Ok(group) => deleted.push(format!("'{group}'")),
            Err((group, code)) => failed.push(format!(
                "* Group '{group}' could not be deleted due to: {}",
                delete_error(code)
            )),
        }
    }
    if failed.is_empty() {
        println!(
            "Deletion of requested consumer groups ({}) was successful.",
            deleted.join(", ")
        );
        return Ok(());
    }
    let mut message = format!(
        "Error: Deletion of some consumer groups failed:\n{}",
        failed.join("\n")
    );
    if !deleted.is_empty() {
        message.push_str(&format!(
            "\n\nThese consumer groups were deleted successfully: {}",
            deleted.join(", ")
        ));
    }
    Err(Failure::new(message))
}

/// The partitions a reset covers, from the scope.
fn reset_partitions(
    cluster: &Cluster,
    reset: &Reset,
    group: &str,
    metadata: &Metadata,
) -> Result<Vec<Tp>, Failure> {
    let partitions: BTreeSet<Tp> = match &reset.scope {
        Scope::AllTopics => cluster
            .all_committed(group, metadata)?
            .into_keys()
            .collect(),
        Scope::Plan => match &reset.scenario {
            Scenario::FromFile(plan) => plan
                .get(group)
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default(),
            _ => BTreeSet::new(),
        },
        Scope::Topics(args) => {
            let mut partitions = BTreeSet::new();
            for arg in args {
                match parse_topic_arg(arg)? {
                    TopicArg::Partitions(topic, ids) => {
                        partitions.extend(ids.into_iter().map(|p| (topic.clone(), p)))
                    }
                    TopicArg::Whole(topic) => {
                        let found = metadata
                            .topics()
                            .iter()
                            .find(|t| t.name() == topic && t.error().is_none())
                            .ok_or_else(|| {
                                failed_due_to(super::kafka_error_message(
                                    RDKafkaErrorCode::UnknownTopicOrPartition,
                                ))
                            })?;
                        partitions
                            .extend(found.partitions().iter().map(|p| (topic.clone(), p.id())));
                    }
                }
            }
            partitions
        }
    };
    let partitions: Vec<Tp> = partitions.into_iter().collect();
    // Kafka's checkAllTopicPartitionsValid: every partition exists and has a leader.
    let leader = |tp: &Tp| {
        metadata
            .topics()
            .iter()
            .find(|t| t.name() == tp.0)
            .and_then(|t| t.partitions().iter().find(|p| p.id() == tp.1))
            .map(|p| p.leader())
    };
    let missing: Vec<String> = partitions
        .iter()
        .filter(|tp| leader(tp).is_none())
        .map(tp_name)
        .collect();
    if !missing.is_empty() {
        return Err(failed_due_to(format!(
            "The partitions \"{}\" do not exist",
            missing.join(",")
        )));
    }
    let leaderless: Vec<String> = partitions
        .iter()
        .filter(|tp| leader(tp).is_some_and(|l| l < 0))
        .map(tp_name)
        .collect();
    if !leaderless.is_empty() {
        return Err(failed_due_to(format!(
            "The partitions \"{}\" have no leader",
            leaderless.join(",")
        )));
    }
    Ok(partitions)
}

fn reset_offsets(cluster: &Cluster, reset: &Reset, single_group: bool) -> Result<(), Failure> {
    let names = cluster.resolve_groups(&reset.groups)?;
    let metadata = cluster.metadata()?;
    let mut plans: BTreeMap<String, BTreeMap<Tp, i64>> = BTreeMap::new();
    let mut errors = Vec::new();
    for name in names {
        let group = cluster.group(&name)?;
        if !matches!(group.state.as_str(), "Empty" | "Dead") {
            errors.push(format!(
                "Error: Assignments can only be reset if the group '{name}' is inactive, but the current state is {}.",
                group.state
            ));
            plans.insert(name, BTreeMap::new());
            continue;
        }
        if let Scenario::FromFile(plan) = &reset.scenario
            && !plan.contains_key(&name)
        {
            errors.push(format!("Error: No reset plan for group {name} found."));
            plans.insert(name, BTreeMap::new());
            continue;
        }
        let partitions = reset_partitions(cluster, reset, &name, &metadata)?;
        let committed = match reset.scenario {
            Scenario::ShiftBy(_) | Scenario::ToCurrent => cluster.committed(&name, &partitions)?,
            _ => BTreeMap::new(),
        };
        let by_time = match reset.scenario {
            Scenario::ToDatetime(timestamp) => cluster.offsets_for_time(&partitions, timestamp)?,
            Scenario::ByDuration(nanos) => {
                let now = chrono::Utc::now().timestamp_millis();
                cluster.offsets_for_time(&partitions, timestamp_before(now, nanos))?
            }
            _ => BTreeMap::new(),
        };
        let mut plan = BTreeMap::new();
        for tp in partitions {
            let (log_start, log_end) = cluster.watermarks(&tp)?;
            let state = PartitionState {
                log_start,
                log_end,
                committed: committed.get(&tp).copied(),
                by_time: by_time.get(&tp).copied().flatten(),
            };
            let (offset, warnings) = plan_offset(&reset.scenario, &name, &tp, &state)?;
            for warning in warnings {
                if warning.starts_with('\n') {
                    println!("{warning}");
                } else {
                    eprintln!("{warning}");
                }
            }
            plan.insert(tp, offset);
        }
        if reset.execute {
            cluster.commit(&name, &plan)?;
        }
        plans.insert(name, plan);
    }
    if reset.export {
        println!("{}", format_reset_csv(&plans, !single_group));
    } else {
        print!("{}", format_reset_plan(&plans));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(errors.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, clap::Error> {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        use clap::Parser;
        let mut argv = vec!["consumer-groups"];
        argv.extend_from_slice(list);
        Cli::try_parse_from(argv).map(|c| c.args)
    }

    fn check(list: &[&str]) -> Result<(Action, Vec<String>), Failure> {
        validate(&args(list).expect("clap accepts the arguments"))
    }

    fn error(list: &[&str]) -> String {
        check(list).unwrap_err().message
    }

    const B: &str = "--bootstrap-server";

    #[test]
    fn bootstrap_server_is_required_by_clap() {
        let err = args(&["--list"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }

    #[test]
    fn actions_and_scopes_use_kafkas_messages() {
        assert_eq!(
            error(&[B, "k:9092"]),
            "Command must include exactly one action: --list, --describe, --delete, --reset-offsets"
        );
        assert_eq!(
            error(&[B, "k:9092", "--list", "--describe", "--group", "g"]),
            "Option \"[group]\" can't be used with option \"[list]\""
        );
        assert_eq!(
            error(&[B, "k:9092", "--describe"]),
            "Option [describe] takes one of these options: [all-groups], [group]"
        );
        assert_eq!(
            error(&[
                B,
                "k:9092",
                "--describe",
                "--group",
                "g",
                "--members",
                "--state"
            ]),
            "Option [describe] takes at most one of these options: [members], [offsets], [state]"
        );
        assert_eq!(
            error(&[B, "k:9092", "--list", "--members"]),
            "Option(s) [members] are unavailable given other options on the command line"
        );
        assert_eq!(
            error(&[B, "k:9092", "--delete", "--group", "g", "--topic", "t"]),
            "The consumer does not support topic-specific offset deletion from a consumer group."
        );
        assert_eq!(
            error(&[
                B,
                "k:9092",
                "--reset-offsets",
                "--group",
                "g",
                "--to-earliest"
            ]),
            "One of the reset scopes should be defined: --all-topics, --topic."
        );
        assert_eq!(
            error(&[
                B,
                "k:9092",
                "--reset-offsets",
                "--group",
                "g",
                "--all-topics",
                "--to-earliest",
                "--to-latest"
            ]),
            "Option \"[to-earliest]\" can't be used with option \"[to-latest]\""
        );
        assert_eq!(
            error(&[
                B,
                "k:9092",
                "--reset-offsets",
                "--group",
                "g",
                "--all-topics",
                "--execute",
                "--dry-run",
                "--to-latest"
            ]),
            "Option [reset-offsets] only accepts one of [execute] and [dry-run]"
        );
        assert!(
            error(&[
                B,
                "k:9092",
                "--reset-offsets",
                "--group",
                "g",
                "--all-topics"
            ])
            .starts_with("Option '[reset-offsets]' requires one of the following scenarios:")
        );
    }

    #[test]
    fn reset_without_execute_warns_and_plans() {
        let (action, warnings) = check(&[
            B,
            "k:9092",
            "--reset-offsets",
            "--group",
            "g",
            "--topic",
            "t:0,1",
            "--topic",
            "u",
            "--shift-by",
            "-2",
        ])
        .unwrap();
        assert_eq!(warnings, [NO_EXECUTE_WARNING]);
        assert_eq!(
            action,
            Action::Reset(Reset {
                groups: Groups::Named(vec!["g".into()]),
                scope: Scope::Topics(vec!["t:0,1".into(), "u".into()]),
                scenario: Scenario::ShiftBy(-2),
                execute: false,
                export: false,
            })
        );
        let (_, warnings) = check(&[
            B,
            "k:9092",
            "--reset-offsets",
            "--group",
            "g",
            "--all-topics",
            "--to-offset",
            "5",
            "--dry-run",
        ])
        .unwrap();
        assert!(warnings.is_empty());
    }

    #[test]
    fn list_and_describe_views() {
        assert_eq!(
            check(&[B, "k", "--list", "--state", "stable,EMPTY"])
                .unwrap()
                .0,
            Action::List {
                states: Some(vec!["Stable".into(), "Empty".into()])
            }
        );
        assert_eq!(
            check(&[B, "k", "--list", "--state"]).unwrap().0,
            Action::List {
                states: Some(vec![])
            }
        );
        assert!(
            error(&[B, "k", "--list", "--state", "nope"]).starts_with("Invalid state list 'nope'.")
        );
        assert_eq!(
            check(&[B, "k", "--describe", "--group", "g", "--state", "--verbose"])
                .unwrap()
                .0,
            Action::Describe {
                groups: Groups::Named(vec!["g".into()]),
                view: View::State,
                verbose: true
            }
        );
        assert_eq!(
            check(&[B, "k", "--describe", "--all-groups", "--members"])
                .unwrap()
                .0,
            Action::Describe {
                groups: Groups::All,
                view: View::Members,
                verbose: false
            }
        );
    }

    #[test]
    fn datetimes_as_kafka_parses_them() {
        // No zone: UTC, as Kafka appends `Z`.
        assert_eq!(
            parse_datetime("2021-12-05T06:57:48.002").unwrap(),
            1_638_687_468_002
        );
        assert_eq!(
            parse_datetime("2021-12-05T06:57:48.002Z").unwrap(),
            1_638_687_468_002
        );
        assert_eq!(
            parse_datetime("2021-12-05T15:57:48.002+09:00").unwrap(),
            1_638_687_468_002
        );
        assert_eq!(
            parse_datetime("2021-12-05T15:57:48.002+0900").unwrap(),
            1_638_687_468_002
        );
        assert_eq!(
            parse_datetime("2021-12-04T21:57:48.002-09").unwrap(),
            1_638_687_468_002
        );
        assert_eq!(
            parse_datetime("2021-12-05").unwrap_err().message,
            "Error: Executing consumer group command failed due to java.text.ParseException: Error parsing timestamp. It does not contain a 'T' according to ISO8601 format"
        );
        assert_eq!(
            parse_datetime("2021-13-05T06:57:48.002")
                .unwrap_err()
                .message,
            "Error: Executing consumer group command failed due to java.text.ParseException: Unparseable date: \"2021-13-05T06:57:48.002Z\""
        );
        assert!(parse_datetime("2021-12-05T06:57:48").is_err());
        assert!(parse_datetime("2021-12-05T24:00:00.000").is_err());
    }

    #[test]
    fn durations_as_java_parses_them() {
        const S: i128 = 1_000_000_000;
        assert_eq!(parse_duration("PT1H").unwrap(), 3600 * S);
        assert_eq!(
            parse_duration("P1DT2H3M4S").unwrap(),
            (86_400 + 7200 + 180 + 4) * S
        );
        assert_eq!(parse_duration("pt0.5s").unwrap(), S / 2);
        assert_eq!(parse_duration("-PT6H3M").unwrap(), -(6 * 3600 + 180) * S);
        assert_eq!(parse_duration("PT-1.5S").unwrap(), -(S + S / 2));
        for bad in ["P", "PT", "1H", "PT1X", ""] {
            assert_eq!(
                parse_duration(bad).unwrap_err().message,
                "Error: Executing consumer group command failed due to Text cannot be parsed to a Duration",
                "{bad}"
            );
        }
        assert_eq!(timestamp_before(10_000, 3 * S), 7_000);
        assert_eq!(timestamp_before(10_000, S / 2), 9_500);
        assert_eq!(timestamp_before(10_000, 1), 9_999);
    }

    #[test]
    fn topic_args() {
        assert_eq!(parse_topic_arg("t").unwrap(), TopicArg::Whole("t".into()));
        assert_eq!(
            parse_topic_arg("t:0,2").unwrap(),
            TopicArg::Partitions("t".into(), vec![0, 2])
        );
        assert_eq!(
            parse_topic_arg("t:").unwrap_err().message,
            "Invalid topic arg 't:', expected topic name and partitions"
        );
        assert_eq!(
            parse_topic_arg("t:x").unwrap_err().message,
            "Invalid partition 'x' specified in topic arg 't:x''"
        );
    }

    fn tp(topic: &str, partition: i32) -> Tp {
        (topic.to_string(), partition)
    }

    #[test]
    fn planning_clamps_like_kafka() {
        let state = PartitionState {
            log_start: 2,
            log_end: 10,
            committed: Some(6),
            by_time: None,
        };
        let t = tp("t", 0);
        let plan = |s: Scenario| plan_offset(&s, "g", &t, &state).unwrap();
        assert_eq!(plan(Scenario::ToEarliest).0, 2);
        assert_eq!(plan(Scenario::ToLatest).0, 10);
        assert_eq!(plan(Scenario::ToCurrent).0, 6);
        assert_eq!(plan(Scenario::ToOffset(4)), (4, vec![]));
        assert_eq!(
            plan(Scenario::ToOffset(100)),
            (
                10,
                vec!["WARN New offset (100) is higher than latest offset for topic partition t-0. Value will be set to 10.".to_string()]
            )
        );
        assert_eq!(
            plan(Scenario::ToOffset(0)),
            (
                2,
                vec!["WARN New offset (0) is lower than earliest offset for topic partition t-0. Value will be set to 2.".to_string()]
            )
        );
        assert_eq!(plan(Scenario::ShiftBy(-3)).0, 3);
        assert_eq!(plan(Scenario::ShiftBy(-30)).0, 2);
        assert_eq!(plan(Scenario::ShiftBy(3)).0, 9);
        assert_eq!(plan(Scenario::ShiftBy(30)).0, 10);
        let (offset, warnings) = plan(Scenario::ToDatetime(0));
        assert_eq!(offset, 10);
        assert_eq!(
            warnings,
            ["\nWarn: Partition 0 from topic t is empty. Falling back to latest known offset."]
        );
        let found = PartitionState {
            by_time: Some(5),
            ..state
        };
        assert_eq!(
            plan_offset(&Scenario::ByDuration(1), "g", &t, &found)
                .unwrap()
                .0,
            5
        );
        let uncommitted = PartitionState {
            committed: None,
            ..state
        };
        assert_eq!(
            plan_offset(&Scenario::ShiftBy(1), "g", &t, &uncommitted)
                .unwrap_err()
                .message,
            "Cannot shift offset for partition t-0 since there is no current committed offset"
        );
        assert_eq!(
            plan_offset(&Scenario::ToCurrent, "g", &t, &uncommitted)
                .unwrap()
                .0,
            10
        );
        let file = Scenario::FromFile(BTreeMap::from([(
            "g".to_string(),
            BTreeMap::from([(tp("t", 0), 7)]),
        )]));
        assert_eq!(plan_offset(&file, "g", &t, &state).unwrap().0, 7);
    }

    #[test]
    fn reset_plans_from_files() {
        let single = parse_reset_plan("t,0,5\nt,1,7\n", Some("g")).unwrap();
        assert_eq!(
            single,
            BTreeMap::from([(
                "g".to_string(),
                BTreeMap::from([(tp("t", 0), 5), (tp("t", 1), 7)])
            )])
        );
        let several = parse_reset_plan("g1,t,0,5\ng2,t,0,6\n", None).unwrap();
        assert_eq!(several["g2"][&tp("t", 0)], 6);
        assert!(parse_reset_plan("t,x,5\n", Some("g")).is_err());
        assert_eq!(format_reset_csv(&single, false), "t,0,5\nt,1,7\n");
        assert_eq!(format_reset_csv(&several, true), "g1,t,0,5\ng2,t,0,6\n");
    }

    #[test]
    fn reset_plan_table() {
        let plans = BTreeMap::from([(
            "connect-sink".to_string(),
            BTreeMap::from([(tp("orders", 0), 0), (tp("orders", 1), 12)]),
        )]);
        assert_eq!(
            format_reset_plan(&plans),
            "\nGROUP           TOPIC           PARTITION  NEW-OFFSET\n\
             connect-sink    orders          0          0\n\
             connect-sink    orders          1          12\n"
        );
        assert_eq!(format_reset_plan(&BTreeMap::new()), "\n");
    }

    #[test]
    fn assignments_decode_from_the_consumer_protocol() {
        let mut bytes = vec![0, 1, 0, 0, 0, 2];
        for (topic, partitions) in [("orders", vec![0i32, 2]), ("users", vec![1])] {
            bytes.extend((topic.len() as i16).to_be_bytes());
            bytes.extend(topic.as_bytes());
            bytes.extend((partitions.len() as i32).to_be_bytes());
            for p in partitions {
                bytes.extend(p.to_be_bytes());
            }
        }
        bytes.extend((-1i32).to_be_bytes());
        let decoded = decode_assignment(&bytes);
        assert_eq!(decoded, [tp("orders", 0), tp("orders", 2), tp("users", 1)]);
        assert_eq!(assignment_string(&decoded), "orders:0,2;users:1");
        assert!(decode_assignment(&[0, 1, 0]).is_empty());
    }

    fn snapshot() -> GroupSnapshot {
        GroupSnapshot {
            name: "connect-sink".into(),
            state: "Stable".into(),
            protocol_type: "consumer".into(),
            protocol: "range".into(),
            members: vec![
                Member {
                    consumer_id: "c1".into(),
                    client_id: "client-1".into(),
                    host: "/10.0.0.1".into(),
                    assignment: vec![tp("orders", 1)],
                },
                Member {
                    consumer_id: "c2".into(),
                    client_id: "client-2".into(),
                    host: "/10.0.0.2".into(),
                    assignment: vec![tp("orders", 2), tp("orders", 0)],
                },
            ],
        }
    }

    #[test]
    fn describe_rows_and_table() {
        let group = snapshot();
        let committed = BTreeMap::from([
            (tp("orders", 0), 5),
            (tp("orders", 1), 3),
            (tp("old", 0), 1),
        ]);
        let log_ends = BTreeMap::from([
            (tp("orders", 0), 5),
            (tp("orders", 1), 10),
            (tp("old", 0), 4),
        ]);
        assert_eq!(
            described_partitions(&group, &committed).len(),
            4,
            "assigned and committed partitions"
        );
        let rows = offset_rows(&group, &committed, &log_ends);
        let keys: Vec<(String, i32, String)> = rows
            .iter()
            .map(|r| {
                (
                    r.topic.clone().unwrap(),
                    r.partition.unwrap(),
                    r.consumer_id.clone(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                ("orders".into(), 0, "c2".into()),
                ("orders".into(), 2, "c2".into()),
                ("orders".into(), 1, "c1".into()),
                ("old".into(), 0, "-".into()),
            ]
        );
        assert_eq!(
            rows[1].lag(),
            None,
            "no committed offset, no log end: no lag"
        );
        assert_eq!(rows[2].lag(), Some(7));
        let table = format_offsets(&rows, false);
        let lines: Vec<&str> = table.split('\n').collect();
        assert_eq!(lines[0], "");
        assert_eq!(
            lines[1],
            "GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID"
        );
        assert_eq!(
            lines[2],
            "connect-sink    orders          0          5               5               0               c2              /10.0.0.2       client-2"
        );
        assert_eq!(
            lines[3],
            "connect-sink    orders          2          -               -               -               c2              /10.0.0.2       client-2"
        );
        assert_eq!(
            lines[5],
            "connect-sink    old             0          1               4               3               -               -               -"
        );
        assert_eq!(lines.len(), 7);
        assert_eq!(lines[6], "");
        let verbose = format_offsets(&rows[..1], true);
        assert!(
            verbose.contains("PARTITION  LEADER-EPOCH    CURRENT-OFFSET"),
            "{verbose}"
        );
    }

    #[test]
    fn members_and_state_tables() {
        let group = snapshot();
        let members = format_members(&group, false);
        assert_eq!(
            members,
            "\nGROUP           CONSUMER-ID     HOST            CLIENT-ID       #PARTITIONS     \n\
             connect-sink    c1              /10.0.0.1       client-1        1               \n\
             connect-sink    c2              /10.0.0.2       client-2        2               \n"
        );
        let verbose = format_members(&group, true);
        assert!(
            verbose.contains("#PARTITIONS     CURRENT-EPOCH   CURRENT-ASSIGNMENT   TARGET-EPOCH    TARGET-ASSIGNMENT   \n"),
            "{verbose}"
        );
        assert!(
            verbose.contains("2               -               orders:0,2           -               -                   \n"),
            "{verbose}"
        );
        assert_eq!(
            format_state(&group, "k1:9092  (1)", false),
            "\nGROUP           COORDINATOR (ID)          ASSIGNMENT-STRATEGY  STATE                #MEMBERS\n\
             connect-sink    k1:9092  (1)              range                Stable               2\n"
        );
        assert_eq!(
            format_group_list(&[("connect-sink".into(), "Empty".into())]),
            "GROUP                     STATE               \nconnect-sink              Empty               \n"
        );
    }

    #[test]
    fn coordinator_partition_is_kafkas() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("a"), 97);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE: Utils.abs maps it to 0.
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        assert_eq!(offsets_partition_for("polygenelubricants", 50), 0);
        assert_eq!(offsets_partition_for("hello", 50), 99_162_322 % 50);
    }

    #[test]
    fn group_state_notices() {
        assert_eq!(
            state_notice("g", "Dead"),
            (
                Some("Error: Consumer group 'g' does not exist.".into()),
                false
            )
        );
        assert_eq!(
            state_notice("g", "Empty"),
            (
                Some("\nConsumer group 'g' has no active members.".into()),
                true
            )
        );
        assert_eq!(state_notice("g", "Stable"), (None, true));
        assert_eq!(
            delete_error(RDKafkaErrorCode::NonEmptyGroup),
            "org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty."
        );
    }
}
