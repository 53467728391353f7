//! The `sluice` binary: version, help, and clear errors for bad worker or connector files.

use std::process::Command;

fn sluice(args: &[&str]) -> (i32, String, String) {
    crate::support::run_sluice(args)
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn version_and_help() {
    let (code, out, _) = sluice(&["--version"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("sluice {}", env!("CARGO_PKG_VERSION")));
    let (code, out, _) = sluice(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("standalone"), "{out}");
}

#[test]
fn bad_worker_and_connector_files_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let good_worker = write(
        &dir,
        "worker.properties",
        "bootstrap.servers=127.0.0.1:9092\n",
    );
    let good_connector = "config/my-source-connect.json";

    let bad_worker = write(&dir, "bad.properties", "offset.flush.interval.ms=soon\n");
    let (code, _, err) = sluice(&["standalone", &bad_worker, good_connector]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("bad.properties: Invalid value soon for configuration offset.flush.interval.ms: Not a number of type LONG"),
        "{err}"
    );

    let (code, _, err) = sluice(&["standalone", "/no/such/worker.properties", good_connector]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot read /no/such/worker.properties"),
        "{err}"
    );

    let not_json = write(&dir, "c.json", "{\"name\": \"x\",");
    let (code, _, err) = sluice(&["standalone", &good_worker, &not_json]);
    assert_eq!(code, 2);
    assert!(err.contains("c.json: not valid JSON"), "{err}");

    let no_mode = write(
        &dir,
        "nomode.json",
        r#"{"name":"s","config":{"connector.class":"io.confluent.connect.jdbc.JdbcSourceConnector","connection.url":"jdbc:mysql://h:3306/db","topic.prefix":"p_"}}"#,
    );
    let (code, _, err) = sluice(&["standalone", &good_worker, &no_mode]);
    assert_eq!(code, 2);
    assert!(
        err.contains(r#"nomode.json: connector s: Missing required configuration "mode" which has no default value."#),
        "{err}"
    );

    let unknown = write(
        &dir,
        "u.properties",
        "name=u\nconnector.class=com.example.Nope\n",
    );
    let (code, _, err) = sluice(&["standalone", &good_worker, &unknown]);
    assert_eq!(code, 2);
    assert!(err.contains("Failed to find any class that implements Connector and which name matches com.example.Nope"), "{err}");

    let secret = write(
        &dir,
        "secret.json",
        r#"{"name":"s","config":{"connector.class":"JdbcSourceConnector","connection.url":"jdbc:mysql://h:3306/db?password=hunter2","mode":"bulk","topic.prefix":"p_","poll.interval.ms":"x"}}"#,
    );
    let (code, _, err) = sluice(&["standalone", &good_worker, &secret]);
    assert_eq!(code, 2);
    assert!(err.contains("poll.interval.ms"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

/// The worker's converters and their keys are checked by the converter's own definition before
/// the worker starts (exit 2, naming the file and the key), in both modes; so are the worker
/// group's timeouts.
#[test]
fn bad_worker_converters_and_group_timeouts_fail_before_start() {
    let dir = tempfile::tempdir().unwrap();
    let connector = "config/my-source-connect.json";
    for (text, message) in [
        (
            "value.converter=com.example.NoSuchConverter\n",
            "w.properties: Invalid value com.example.NoSuchConverter for configuration value.converter: Class com.example.NoSuchConverter could not be found.",
        ),
        (
            "key.converter.decimal.format=HEX\n",
            "w.properties: Invalid value HEX for configuration key.converter.decimal.format",
        ),
        (
            "rebalance.timeout.ms=soon\n",
            "w.properties: Invalid value soon for configuration rebalance.timeout.ms: Not a number of type INT",
        ),
    ] {
        let worker = write(&dir, "w.properties", text);
        for args in [
            vec!["worker", &worker],
            vec!["standalone", &worker, connector],
        ] {
            let (code, _, err) = sluice(&args);
            assert_eq!(code, 2, "{args:?} {text}: {err}");
            assert!(err.contains(message), "{args:?}: {err}");
        }
    }
}

/// `sluice worker` as a process: serves the REST API, runs a POSTed connector, and on SIGTERM
/// drains it, stores its offset and exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_process_serves_rest_and_exits_cleanly_on_sigterm() {
    use std::time::Duration;

    use crate::rest_api::{USERS, call, source_json};
    use crate::support::{TestDb, read_topic, services, unique};

    let db = TestDb::new("cli_worker").await;
    db.exec(USERS).await;
    db.exec("INSERT INTO users (user_id) VALUES ('a'),('b')")
        .await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let topics = unique("cliw");
    let dir = tempfile::tempdir().unwrap();
    let worker = write(
        &dir,
        "worker.properties",
        &format!(
            "bootstrap.servers={}\nlisteners=http://127.0.0.1:{port}\n\
             offset.storage.topic={topics}-offsets\noffset.storage.replication.factor=1\noffset.storage.partitions=1\n\
             config.storage.topic={topics}-configs\nconfig.storage.replication.factor=1\n\
             status.storage.topic={topics}-status\nstatus.storage.replication.factor=1\nstatus.storage.partitions=1\n\
             offset.flush.interval.ms=60000\n",
            services().kafka_bootstrap
        ),
    );
    let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["worker", &worker])
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    loop {
        let (status, _) = call("GET", &format!("{base}/"), None);
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "REST never served"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let name = unique("cli_src");
    let prefix = format!("{}_", unique("cliw"));
    // Posted at once: the request is held until the worker is ready, never refused.
    let status = call(
        "POST",
        &format!("{base}/connectors"),
        Some(&source_json(&name, &db, &prefix)),
    )
    .0;
    assert_eq!(status, 201);
    assert_eq!(
        read_topic(&format!("{prefix}users"), 2, Duration::from_secs(30))
            .await
            .len(),
        2
    );

    // SIGTERM: the offset (not yet flushed: offset.flush.interval.ms is a minute) is stored on
    // the way out, and the process exits 0.
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let exit = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let log = String::from_utf8_lossy(&exit.stderr);
    assert_eq!(exit.status.code(), Some(0), "{log}");
    assert!(log.contains("shutting down"), "{log}");
    let offsets = read_topic(
        &format!("{topics}-offsets"),
        usize::MAX,
        Duration::from_secs(2),
    )
    .await;
    let key = format!(
        r#"["{name}",{{"protocol":"1","table":"{}.users"}}]"#,
        db.name
    );
    assert!(
        offsets
            .iter()
            .any(|r| r.key_str() == key && r.value_str() == r#"{"incrementing":2}"#),
        "offset stored at shutdown"
    );
    db.drop_db().await;
}
