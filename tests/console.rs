//! `sluice console-consumer` and `sluice console-producer` run as a user runs them — the built
//! binary against the real broker: the seed's `kafka-console-consumer.sh` command line, every
//! `DefaultMessageFormatter` field in Kafka's spelling and order, `--partition`/`--offset`,
//! `--group` commits, SIGTERM/SIGINT summaries, the producer's `LineMessageReader` parsing
//! (keys, headers, null markers) read back with a client, and clear bounded failures.
//!
//! Each test writes its own topics. Records are produced one per request: the test broker
//! (tansu) reports a wrong high watermark for multi-record batches, which would move where
//! `--offset latest` starts.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureProducer;

use crate::support::{
    committed_offset, create_topic, produce, read_topic, record, send, services, unique,
};

/// Runs the binary with `input` on stdin; (exit code, stdout, stderr).
async fn sluice(args: &[&str], input: &str) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let input = input.to_string();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(&args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run sluice");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

/// `sluice console-consumer --bootstrap-server <broker> <args>`.
async fn consumer(args: &[&str]) -> (i32, String, String) {
    let broker = services().kafka_bootstrap;
    let mut argv = vec!["console-consumer", "--bootstrap-server", &broker];
    argv.extend_from_slice(args);
    sluice(&argv, "").await
}

/// `sluice console-producer --bootstrap-server <broker> <args>` fed `input`.
async fn producer(args: &[&str], input: &str) -> (i32, String, String) {
    let broker = services().kafka_bootstrap;
    let mut argv = vec!["console-producer", "--bootstrap-server", &broker];
    argv.extend_from_slice(args);
    sluice(&argv, input).await
}

/// The seed's JsonConverter message (its `users` table) for one row, as Connect writes it.
fn seed_message(id: i32, user_id: &str, name: &str, created_at: i64) -> String {
    format!(
        concat!(
            r#"{{"schema":{{"type":"struct","fields":["#,
            r#"{{"type":"int32","optional":false,"field":"id"}},"#,
            r#"{{"type":"string","optional":true,"field":"user_id"}},"#,
            r#"{{"type":"string","optional":true,"field":"pwd"}},"#,
            r#"{{"type":"string","optional":true,"field":"name"}},"#,
            r#"{{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"created_at"}}"#,
            r#"],"optional":false,"name":"users"}},"#,
            r#""payload":{{"id":{},"user_id":"{}","pwd":"1234","name":"{}","created_at":{}}}}}"#
        ),
        id, user_id, name, created_at
    )
}

/// Asserts Kafka's log4j line for a consumer stopped by `--timeout-ms`, then the summary.
fn assert_timed_out(stderr: &str, processed: usize) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    let logged = regex::Regex::new(
        r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] ERROR Error processing message, terminating consumer process:  \(org\.apache\.kafka\.tools\.consumer\.ConsoleConsumer\)$",
    )
    .unwrap();
    assert!(logged.is_match(lines[0]), "{stderr}");
    assert_eq!(lines[1], "org.apache.kafka.common.errors.TimeoutException");
    assert_eq!(
        lines[2],
        format!("Processed a total of {processed} messages")
    );
}

/// Produces one record to partition 0 with a timestamp and headers, awaiting it.
async fn produce_with(
    topic: &str,
    key: Option<&str>,
    value: Option<&str>,
    headers: &[(&str, Option<&str>)],
    timestamp: i64,
) {
    let producer: FutureProducer = services().kafka_config().create().unwrap();
    let mut list = OwnedHeaders::new();
    for (key, value) in headers {
        list = list.insert(Header {
            key,
            value: value.as_deref(),
        });
    }
    let message = record(topic, key, value)
        .partition(0)
        .timestamp(timestamp)
        .headers(list);
    send(&producer, message).await;
}

/// A record read back with a client: key, value and headers as text.
type Read = (
    Option<String>,
    Option<String>,
    Vec<(String, Option<String>)>,
);

/// Reads `count` records of `topic` back from the beginning, without a group.
async fn read_back(topic: &str, count: usize) -> Vec<Read> {
    let text = |bytes: Option<&[u8]>| bytes.map(|b| String::from_utf8_lossy(b).into_owned());
    read_topic(topic, count, Duration::from_secs(15))
        .await
        .into_iter()
        .map(|r| {
            (
                text(r.key.as_deref()),
                text(r.value.as_deref()),
                r.headers
                    .iter()
                    .map(|(k, v)| (k.clone(), text(v.as_deref())))
                    .collect(),
            )
        })
        .collect()
}

fn read(key: Option<&str>, value: Option<&str>, headers: &[(&str, Option<&str>)]) -> Read {
    (
        key.map(str::to_string),
        value.map(str::to_string),
        headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect(),
    )
}

#[tokio::test]
async fn console_consumer_runs_the_seeds_command() {
    let topic = unique("my_topic_users");
    create_topic(&topic, 1).await;
    let first = seed_message(1, "user1", "kim", 1_638_687_400_000);
    let second = seed_message(2, "user2", "lee", 1_638_687_468_000);
    produce(&topic, &[(None, Some(&first)), (None, Some(&second))]).await;
    let expected = format!("{first}\n{second}\n");

    // The seed's command line, script name replaced, bounded by --max-messages.
    let started = Instant::now();
    let (code, out, err) =
        consumer(&["--topic", &topic, "--from-beginning", "--max-messages", "2"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, expected);
    assert_eq!(err, "Processed a total of 2 messages\n");
    assert!(started.elapsed() < Duration::from_secs(10));

    // Bounded by --timeout-ms instead: Kafka's TimeoutException, still exit 0.
    let (code, out, err) = consumer(&[
        "--topic",
        &topic,
        "--from-beginning",
        "--timeout-ms",
        "1500",
    ])
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, expected);
    assert_timed_out(&err, 2);

    // Without --group nothing was committed: no console-consumer-* group exists.
    let broker = services().kafka_bootstrap;
    let (code, out, err) = sluice(
        &["consumer-groups", "--bootstrap-server", &broker, "--list"],
        "",
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.lines().any(|l| l.starts_with("console-consumer-")),
        "{out}"
    );
}

/// `sluice console-consumer` on `topic` with `args`, then `--property p` for each property.
async fn consume_with(topic: &str, args: &[&str], properties: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--topic", topic];
    all.extend_from_slice(args);
    for property in properties {
        all.extend_from_slice(&["--property", property]);
    }
    consumer(&all).await
}

/// `--partition 0 --offset <offset> --max-messages 1` (and `extra`).
async fn one_from(topic: &str, offset: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "--partition",
        "0",
        "--offset",
        offset,
        "--max-messages",
        "1",
    ];
    args.extend_from_slice(extra);
    consume_with(topic, &args, &["print.offset=true"]).await
}

#[tokio::test]
async fn console_consumer_prints_kafkas_fields() {
    let topic = unique("console_fields");
    create_topic(&topic, 1).await;
    produce_with(
        &topic,
        Some("k1"),
        Some("v1"),
        &[("h1", Some("a")), ("h2", None)],
        1_638_687_468_000,
    )
    .await;
    produce_with(&topic, None, None, &[], 1_638_687_469_000).await;
    let both = ["--from-beginning", "--max-messages", "2"];

    let (code, out, err) = consume_with(
        &topic,
        &both,
        &[
            "print.timestamp=true",
            "print.partition=true",
            "print.offset=true",
            "print.headers=true",
            "print.key=true",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "CreateTime:1638687468000\tPartition:0\tOffset:0\th1:a,h2:null\tk1\tv1\n\
         CreateTime:1638687469000\tPartition:0\tOffset:1\tNO_HEADERS\tnull\tnull\n"
    );
    assert_eq!(err, "Processed a total of 2 messages\n");

    // Separators and the null literal; without the value the key ends the line.
    let (code, out, err) = consume_with(
        &topic,
        &both,
        &[
            "print.key=true",
            "print.headers=true",
            "print.value=false",
            "key.separator= | ",
            "headers.separator=;",
            "line.separator=\r\n",
            "null.literal=<null>",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "h1:a;h2:<null> | k1\r\nNO_HEADERS | <null>\r\n");

    // --partition with --offset N, earliest and latest.
    let (code, out, err) = one_from(&topic, "1", &[]).await;
    assert_eq!((code, out.as_str()), (0, "Offset:1\tnull\n"), "{err}");
    let (code, out, err) = one_from(&topic, "earliest", &[]).await;
    assert_eq!((code, out.as_str()), (0, "Offset:0\tv1\n"), "{err}");
    let latest = tokio::spawn({
        let topic = topic.clone();
        async move { one_from(&topic, "latest", &["--timeout-ms", "15000"]).await }
    });
    tokio::time::sleep(Duration::from_millis(2000)).await;
    produce(&topic, &[(None, Some("v3"))]).await;
    let (code, out, err) = latest.await.unwrap();
    assert_eq!((code, out.as_str()), (0, "Offset:2\tv3\n"), "{err}");
}

#[tokio::test]
async fn console_consumer_include_finds_new_topics() {
    let prefix = unique("console_include");
    let (first, second) = (format!("{prefix}_a"), format!("{prefix}_b"));
    create_topic(&first, 1).await;
    produce(&first, &[(None, Some("one"))]).await;
    let pattern = format!("{prefix}_(a|b)");
    let running = tokio::spawn(async move {
        consumer(&[
            "--include",
            &pattern,
            "--from-beginning",
            "--max-messages",
            "2",
            "--timeout-ms",
            "15000",
        ])
        .await
    });
    // A matching topic created while the consumer runs is picked up by its next scan.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    create_topic(&second, 1).await;
    produce(&second, &[(None, Some("two"))]).await;
    let (code, out, err) = running.await.unwrap();
    assert_eq!((code, out.as_str()), (0, "one\ntwo\n"), "{err}");
    assert_eq!(err, "Processed a total of 2 messages\n");
}

#[tokio::test]
async fn console_producer_parses_keys_headers_and_null_markers() {
    let topic = unique("console_produced");
    create_topic(&topic, 1).await;
    let (code, out, err) = producer(
        &[
            "--topic",
            &topic,
            "--property",
            "parse.key=true",
            "--property",
            "parse.headers=true",
            "--property",
            "null.marker=NULL",
            "--compression-codec",
            "gzip",
        ],
        "h1:v1,h2:NULL\tk1\t{\"id\":1}\nNULL\tk2\tNULL\nNULL\tNULL\tplain\r\n",
    )
    .await;
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    // Default separators, one line at a time (--sync); a value may hold the separator.
    let (code, _, err) = producer(
        &["--topic", &topic, "--property", "parse.key=true", "--sync"],
        "k4\tv4\tmore\nk5\t\n",
    )
    .await;
    assert_eq!(code, 0, "{err}");

    let records = read_back(&topic, 5).await;
    assert_eq!(
        records,
        vec![
            read(
                Some("k1"),
                Some("{\"id\":1}"),
                &[("h1", Some("v1")), ("h2", None)]
            ),
            read(Some("k2"), None, &[]),
            read(None, Some("plain"), &[]),
            read(Some("k4"), Some("v4\tmore"), &[]),
            read(Some("k5"), Some(""), &[]),
        ]
    );

    // The same records through the console consumer.
    let (code, out, err) = consumer(&[
        "--topic",
        &topic,
        "--from-beginning",
        "--max-messages",
        "5",
        "--property",
        "print.key=true",
        "--property",
        "print.headers=true",
    ])
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "h1:v1,h2:null\tk1\t{\"id\":1}\nNO_HEADERS\tk2\tnull\nNO_HEADERS\tnull\tplain\n\
         NO_HEADERS\tk4\tv4\tmore\nNO_HEADERS\tk5\t\n"
    );

    // A line without its key separator stops the producer with Kafka's message, after the
    // lines before it were sent.
    let (code, _, err) = producer(
        &["--topic", &topic, "--property", "parse.key=true"],
        "k6\tv6\nno separator\nk7\tv7\n",
    )
    .await;
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "org.apache.kafka.common.KafkaException: No key separator found on line number 2: 'no separator'\n"
    );
    let records = read_back(&topic, 6).await;
    assert_eq!(records.get(5), Some(&read(Some("k6"), Some("v6"), &[])));
    let (code, out, err) = consumer(&[
        "--topic",
        &topic,
        "--partition",
        "0",
        "--offset",
        "6",
        "--timeout-ms",
        "1000",
    ])
    .await;
    assert_eq!((code, out.as_str()), (0, ""), "nothing after k6: {err}");
}

/// Sends `signal` to a running console consumer once it printed `lines` lines; (exit code,
/// stdout, stderr).
async fn stop_with(signal: &str, topic: &str, lines: usize) -> (i32, String, String) {
    let broker = services().kafka_bootstrap;
    let (signal, topic) = (signal.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args([
                "console-consumer",
                "--bootstrap-server",
                &broker,
                "--topic",
                &topic,
                "--from-beginning",
            ])
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run sluice");
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut printed = String::new();
        for _ in 0..lines {
            stdout.read_line(&mut printed).unwrap();
        }
        let status = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let output = child.wait_with_output().unwrap();
        printed.push_str(&String::from_utf8_lossy(&output.stdout));
        (
            output.status.code().unwrap_or(-1),
            printed,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn console_consumer_stops_on_signals_and_commits_with_a_group() {
    let topic = unique("console_signals");
    create_topic(&topic, 1).await;
    produce(&topic, &[(None, Some("one")), (None, Some("two"))]).await;

    // SIGTERM and SIGINT: Kafka's summary on stderr, the JVM's exit codes (128 + signal).
    let (code, out, err) = stop_with("TERM", &topic, 2).await;
    assert_eq!((code, out.as_str()), (143, "one\ntwo\n"), "{err}");
    assert_eq!(err, "Processed a total of 2 messages\n");
    let (code, out, err) = stop_with("INT", &topic, 2).await;
    assert_eq!((code, out.as_str()), (130, "one\ntwo\n"), "{err}");
    assert_eq!(err, "Processed a total of 2 messages\n");

    // With --group the printed records are committed, and the next run resumes after them
    // (a short session timeout: the test broker's group join waits half of it).
    let group = unique("console-group");
    let run = |extra: &'static [&'static str]| {
        let (topic, group) = (topic.clone(), group.clone());
        async move {
            let mut args = vec![
                "--topic",
                &topic,
                "--group",
                &group,
                "--max-messages",
                "1",
                "--consumer-property",
                "session.timeout.ms=6000",
            ];
            args.extend_from_slice(extra);
            consumer(&args).await
        }
    };
    let (code, out, err) = run(&["--from-beginning"]).await;
    assert_eq!((code, out.as_str()), (0, "one\n"), "{err}");
    assert_eq!(committed_offset(&group, &topic).await, Some(1));
    let (code, out, err) = run(&[]).await;
    assert_eq!((code, out.as_str()), (0, "two\n"), "{err}");
    assert_eq!(committed_offset(&group, &topic).await, Some(2));
}

#[tokio::test]
async fn console_tools_fail_clearly_within_a_bound() {
    // A broker that cannot be reached: exit 1 with a message, not a hang.
    let started = Instant::now();
    let (code, out, err) = sluice(
        &[
            "console-consumer",
            "--bootstrap-server",
            "127.0.0.1:1",
            "--topic",
            "t",
            "--timeout-ms",
            "2000",
        ],
        "",
    )
    .await;
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "Error: cannot reach the Kafka cluster at 127.0.0.1:1 within 2000 ms (Local: Broker transport failure)\n"
    );
    let (code, _, err) = sluice(
        &[
            "console-producer",
            "--bootstrap-server",
            "127.0.0.1:1",
            "--topic",
            "t",
            "--max-block-ms",
            "2000",
        ],
        "a line\n",
    )
    .await;
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "Error: cannot reach the Kafka cluster at 127.0.0.1:1 within 2000 ms (Local: Broker transport failure)\n"
    );
    assert!(started.elapsed() < Duration::from_secs(12));

    // A topic that does not exist, with auto-creation off.
    let missing = unique("console_missing");
    let (code, _, err) = consumer(&[
        "--topic",
        &missing,
        "--timeout-ms",
        "2000",
        "--consumer-property",
        "allow.auto.create.topics=false",
    ])
    .await;
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!("Error: Topic {missing} not present in metadata after 2000 ms.\n")
    );
    let (code, _, err) = producer(
        &[
            "--topic",
            &missing,
            "--max-block-ms",
            "2000",
            "--producer-property",
            "allow.auto.create.topics=false",
        ],
        "a line\n",
    )
    .await;
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!("Error: Topic {missing} not present in metadata after 2000 ms.\n")
    );

    // Kafka's usage errors exit 1 with its message; what clap rejects exits 2.
    let (code, _, err) = consumer(&[]).await;
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "Exactly one of the following arguments is required: [topic], [include]\n"
    );
    let (code, _, err) = consumer(&["--topic", "t", "--offset", "5"]).await;
    assert_eq!(code, 1);
    assert_eq!(err, "The partition is required when offset is specified.\n");
    let (code, _, err) = producer(&[], "").await;
    assert_eq!(code, 1);
    assert_eq!(err, "Missing required argument \"[topic]\"\n");
    let (code, _, err) = sluice(&["console-consumer", "--topic", "t"], "").await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--bootstrap-server"), "{err}");
}
