//! `sluice worker`'s REST API against the real broker and MariaDB, driven with curl exactly as
//! the seed's notes do: Connect's status codes and bodies, the connector lifecycle, offsets,
//! restoring connectors after a restart, bad input and `/metrics`.

use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value as Json, json};
use sluice::daemon::Daemon;

use crate::support::{
    TestDb, committed_offset, eventually, read_exactly, read_topic, services, unique,
};

/// The process-wide Prometheus recorder (one per test binary).
pub(crate) fn metrics() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    static HANDLE: OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> =
        OnceLock::new();
    HANDLE
        .get_or_init(|| sluice::metrics::install_prometheus().ok())
        .clone()
}

/// A worker's properties with its own internal topics and a random REST port.
pub(crate) fn worker_props(topics: &str) -> sluice::config::WorkerConfig {
    let s = services();
    let props = [
        ("bootstrap.servers", s.kafka_bootstrap.clone()),
        ("group.id", format!("{topics}-cluster")),
        ("offset.storage.topic", format!("{topics}-offsets")),
        ("offset.storage.partitions", "5".into()),
        ("offset.storage.replication.factor", "1".into()),
        ("config.storage.topic", format!("{topics}-configs")),
        ("config.storage.replication.factor", "1".into()),
        ("status.storage.topic", format!("{topics}-status")),
        ("status.storage.replication.factor", "1".into()),
        ("status.storage.partitions", "1".into()),
        ("offset.flush.interval.ms", "200".into()),
        ("listeners", "http://127.0.0.1:0".into()),
    ];
    sluice::config::WorkerConfig::from_map(
        props
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    )
    .unwrap()
}

pub(crate) async fn start(topics: &str) -> (Daemon, String) {
    let daemon = Daemon::start(
        worker_props(topics),
        sluice::connector::Plugins::builtin(),
        metrics(),
    )
    .await
    .unwrap();
    let base = format!("http://{}", daemon.addr);
    // Wait until the worker has read its topics.
    eventually("the worker to start", Duration::from_secs(60), || async {
        daemon.startup.herder_now().is_some()
    })
    .await;
    (daemon, base)
}

/// Runs curl with `args`; returns the HTTP status and the body.
pub(crate) fn curl(args: &[&str], stdin: Option<&str>) -> (u16, String) {
    use std::io::Write;
    let mut command = Command::new("curl");
    command
        .args(["-s", "-w", "\n%{http_code}"])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = command.spawn().expect("curl is installed");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    (code.parse().unwrap(), body.to_string())
}

pub(crate) fn json_of(body: &str) -> Json {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// `curl URL` → status and JSON body (null for an empty body).
pub(crate) fn call(method: &str, url: &str, body: Option<&str>) -> (u16, Json) {
    let mut args = vec!["-X", method, url];
    if body.is_some() {
        args.extend(["-d", "@-", "--header", "content-Type:application/json"]);
    }
    let (status, text) = curl(&args, body);
    let json = if text.is_empty() {
        Json::Null
    } else {
        json_of(&text)
    };
    (status, json)
}

pub(crate) fn source_json(name: &str, db: &TestDb, prefix: &str) -> String {
    crate::source_jdbc::source_config(name, db, prefix, &[]).to_string()
}

pub(crate) fn sink_json(name: &str, db: &TestDb, topic: &str) -> String {
    let s = services();
    json!({
        "name": name,
        "config": {
            "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
            "connection.url": db.jdbc_url(),
            "connection.user": s.mariadb_user,
            "connection.password": s.mariadb_password,
            "auto.create": "true",
            "auto.evolve": "true",
            "delete.enabled": "false",
            "tasks.max": "1",
            "topics": topic
        }
    })
    .to_string()
}

pub(crate) const USERS: &str = "CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, user_id VARCHAR(32), \
     pwd VARCHAR(32), name VARCHAR(64), created_at TIMESTAMP NULL)";

pub(crate) async fn count(db: &TestDb, table: &str) -> i64 {
    use mysql_async::prelude::Queryable;
    let mut conn = db.conn().await;
    conn.query_first(format!("SELECT COUNT(*) FROM `{table}`"))
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
}

pub(crate) async fn wait_state(base: &str, name: &str, connector: &str, tasks: &[&str]) -> Json {
    let url = format!("{base}/connectors/{name}/status");
    let mut last = Json::Null;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        let (status, body) = call("GET", &url, None);
        if status == 200
            && body["connector"]["state"] == connector
            && body["tasks"].as_array().is_some_and(|t| {
                t.iter()
                    .map(|t| t["state"].as_str().unwrap_or(""))
                    .eq(tasks.iter().copied())
            })
        {
            return body;
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{name} never reached {connector} {tasks:?}; last status {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn seed_commands_work_with_curl() {
    let db = TestDb::new("rest_seed").await;
    db.exec(USERS).await;
    db.exec("INSERT INTO users (user_id, pwd, name, created_at) VALUES ('user1','1234','kim','2021-12-05 06:57:48'),('user2','1234','lee','2021-12-05 06:57:48')").await;
    let topics = unique("rest");
    let (daemon, base) = start(&topics).await;

    // curl http://localhost:8083/
    let (status, root) = call("GET", &format!("{base}/"), None);
    assert_eq!(status, 200);
    assert_eq!(root["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        root["commit"].is_string() && root["kafka_cluster_id"].is_string(),
        "{root}"
    );

    // curl http://localhost:8083/connector-plugins | python -m json.tool
    let piped = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "curl -s {base}/connector-plugins | python3 -m json.tool"
        ))
        .output()
        .unwrap();
    assert!(piped.status.success());
    let plugins = json_of(&String::from_utf8(piped.stdout).unwrap());
    assert_eq!(
        plugins,
        json!([
            {"class": "io.confluent.connect.jdbc.JdbcSinkConnector", "type": "sink", "version": "0.1.0-sluice"},
            {"class": "io.confluent.connect.jdbc.JdbcSourceConnector", "type": "source", "version": "0.1.0-sluice"},
            {"class": "io.debezium.connector.mariadb.MariaDbConnector", "type": "source", "version": "3.1.3.Final"},
            {"class": "io.debezium.connector.mysql.MySqlConnector", "type": "source", "version": "3.1.3.Final"}
        ])
    );

    // The seed's POST of the source JSON, piped through `-d @-`.
    let source = unique("my-source-connect");
    let prefix = format!("{}_", unique("my_topic"));
    let (status, created) = call(
        "POST",
        &format!("{base}/connectors"),
        Some(&source_json(&source, &db, &prefix)),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], source);
    assert_eq!(created["type"], "source");
    assert_eq!(created["config"]["connection.password"], "[hidden]");
    assert_eq!(created["config"]["table.whitelist"], "users");
    assert_eq!(created["tasks"], json!([{"connector": source, "task": 0}]));

    let topic = format!("{prefix}users");
    let sink = unique("my-sink-connect");
    let (status, created) = call(
        "POST",
        &format!("{base}/connectors"),
        Some(&sink_json(&sink, &db, &topic)),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["type"], "sink");

    // curl http://localhost:8083/connectors
    let (status, list) = call("GET", &format!("{base}/connectors"), None);
    assert_eq!(status, 200);
    let mut expected = vec![sink.clone(), source.clone()];
    expected.sort();
    assert_eq!(list, json!(expected));

    // curl http://localhost:8083/connectors/my-source-connect/status
    let status_body = wait_state(&base, &source, "RUNNING", &["RUNNING"]).await;
    let worker_id = status_body["connector"]["worker_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        status_body,
        json!({
            "name": source,
            "connector": {"state": "RUNNING", "worker_id": worker_id},
            "tasks": [{"id": 0, "state": "RUNNING", "worker_id": worker_id}],
            "type": "source"
        })
    );

    // Rows flow from users through the topic into the sink's table.
    read_exactly(&topic, 2, Duration::from_secs(30)).await;
    eventually(
        "rows in the sink table",
        Duration::from_secs(90),
        || async { count(&db, &topic).await == 2 },
    )
    .await;

    // A duplicate name is a 409.
    let (status, body) = call(
        "POST",
        &format!("{base}/connectors"),
        Some(&source_json(&source, &db, &prefix)),
    );
    assert_eq!(status, 409);
    assert_eq!(
        body,
        json!({"error_code": 409, "message": format!("Connector {source} already exists")})
    );

    // curl -X DELETE http://localhost:8083/connectors/my-source-connect
    let (status, body) = call("DELETE", &format!("{base}/connectors/{source}"), None);
    assert_eq!((status, body), (204, Json::Null));
    let (status, body) = call("GET", &format!("{base}/connectors/{source}/status"), None);
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"error_code": 404, "message": format!("Connector {source} not found")})
    );
    let (_, list) = call("GET", &format!("{base}/connectors"), None);
    assert_eq!(list, json!([sink]));

    // /metrics serves Prometheus text with this worker's series.
    let (status, text) = curl(&[&format!("{base}/metrics")], None);
    assert_eq!(status, 200);
    assert!(
        text.contains(&format!(
            "sluice_task_state{{connector=\"{sink}\",task=\"0\",state=\"RUNNING\"}} 1"
        )),
        "{text}"
    );
    assert!(text.contains("sluice_sink_records_written_total"), "{text}");

    daemon.stop().await.unwrap();
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lifecycle_offsets_and_restore_after_restart() {
    let db = TestDb::new("rest_life").await;
    db.exec(USERS).await;
    db.exec("INSERT INTO users (user_id) VALUES ('a'),('b'),('c')")
        .await;
    let topics = unique("life");
    let (daemon, base) = start(&topics).await;
    let name = unique("src");
    let prefix = format!("{}_", unique("life"));
    let topic = format!("{prefix}users");
    let url = |path: &str| format!("{base}/connectors/{name}{path}");
    let (status, _) = call(
        "POST",
        &format!("{base}/connectors"),
        Some(&source_json(&name, &db, &prefix)),
    );
    assert_eq!(status, 201);
    read_exactly(&topic, 3, Duration::from_secs(30)).await;

    // Pause: 202, connector and tasks PAUSED; nothing new is read.
    let (status, body) = call("PUT", &url("/pause"), None);
    assert_eq!((status, body), (202, Json::Null));
    wait_state(&base, &name, "PAUSED", &["PAUSED"]).await;
    db.exec("INSERT INTO users (user_id) VALUES ('d')").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        read_topic(&topic, usize::MAX, Duration::from_secs(1))
            .await
            .len(),
        3
    );
    // Resume: the paused row arrives.
    let (status, _) = call("PUT", &url("/resume"), None);
    assert_eq!(status, 202);
    wait_state(&base, &name, "RUNNING", &["RUNNING"]).await;
    read_exactly(&topic, 4, Duration::from_secs(30)).await;

    // Offsets can be read while running but changed only when stopped.
    let partition = json!({"protocol": "1", "table": format!("{}.users", db.name)});
    eventually("offset 4 stored", Duration::from_secs(30), || async {
        call("GET", &url("/offsets"), None).1
            == json!({"offsets": [{"partition": partition, "offset": {"incrementing": 4}}]})
    })
    .await;
    let patch =
        json!({"offsets": [{"partition": partition, "offset": {"incrementing": 2}}]}).to_string();
    let (status, body) = call("PATCH", &url("/offsets"), Some(&patch));
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("STOPPED state"),
        "{body}"
    );
    let (status, body) = call("PUT", &url("/stop"), None);
    assert_eq!((status, body), (204, Json::Null));
    wait_state(&base, &name, "STOPPED", &[]).await;
    let (status, body) = call("PATCH", &url("/offsets"), Some(&patch));
    assert_eq!(status, 200, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("altered successfully")
    );
    let (_, body) = call("GET", &url("/offsets"), None);
    assert_eq!(
        body,
        json!({"offsets": [{"partition": partition, "offset": {"incrementing": 2}}]})
    );

    // Config: GET hides the password; PATCH merges; PUT replaces (200 for an existing one).
    let (status, config) = call("GET", &url("/config"), None);
    assert_eq!(status, 200);
    assert_eq!(config["connection.password"], "[hidden]");
    let (status, info) = call(
        "PATCH",
        &url("/config"),
        Some(r#"{"poll.interval.ms":"300"}"#),
    );
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["config"]["poll.interval.ms"], "300");
    let (status, info) = call("PUT", &url("/config"), Some(&config.to_string()));
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["config"]["poll.interval.ms"], "200");

    // A second connector paused, a third stopped: a restarted worker restores all three states.
    let paused = unique("paused");
    let mut body = json_of(&source_json(&paused, &db, &format!("{}_", unique("p"))));
    body["initial_state"] = json!("PAUSED");
    let (status, _) = call(
        "POST",
        &format!("{base}/connectors"),
        Some(&body.to_string()),
    );
    assert_eq!(status, 201);
    wait_state(&base, &paused, "PAUSED", &["PAUSED"]).await;
    daemon.stop().await.unwrap();

    let (daemon, base) = start(&topics).await;
    let url = |path: &str| format!("{base}/connectors/{name}{path}");
    wait_state(&base, &name, "STOPPED", &[]).await;
    wait_state(&base, &paused, "PAUSED", &["PAUSED"]).await;
    // Resuming the stopped connector starts from the altered offset: ids 3 and 4 again.
    let (status, _) = call("PUT", &url("/resume"), None);
    assert_eq!(status, 202);
    let records = read_topic(&topic, 6, Duration::from_secs(30)).await;
    let ids: Vec<i64> = records
        .iter()
        .map(|r| json_of(r.value_str())["payload"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 3, 4]);

    // Tasks and restarts.
    let (status, tasks) = call("GET", &url("/tasks"), None);
    assert_eq!(status, 200);
    assert_eq!(tasks[0]["id"], json!({"connector": name, "task": 0}));
    assert_eq!(tasks[0]["config"]["connection.password"], "[hidden]");
    assert!(tasks[0]["config"]["tables"].is_string());
    let (status, body) = call("GET", &url("/tasks/0/status"), None);
    assert_eq!(status, 200);
    assert_eq!(body["state"], "RUNNING");
    let (status, _) = call("GET", &url("/tasks/7/status"), None);
    assert_eq!(status, 404);
    let (status, body) = call("POST", &url("/tasks/0/restart"), None);
    assert_eq!((status, body), (204, Json::Null));
    let (status, body) = call("POST", &url("/restart"), None);
    assert_eq!((status, body), (204, Json::Null));
    let (status, body) = call("POST", &url("/restart?includeTasks=true"), None);
    assert_eq!(status, 202);
    assert_eq!(body["connector"]["state"], "RESTARTING");
    assert_eq!(body["tasks"][0]["state"], "RESTARTING");
    let (status, body) = call(
        "POST",
        &url("/restart?includeTasks=true&onlyFailed=true"),
        None,
    );
    assert_eq!(status, 202);
    assert_eq!(
        body["tasks"][0]["state"], "RUNNING",
        "a running task is not restarted"
    );
    wait_state(&base, &name, "RUNNING", &["RUNNING"]).await;

    // Reset (DELETE offsets) needs STOPPED too, then clears them.
    let (status, _) = call("DELETE", &url("/offsets"), None);
    assert_eq!(status, 400);
    call("PUT", &url("/stop"), None);
    let (status, body) = call("DELETE", &url("/offsets"), None);
    assert_eq!(status, 200, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("reset successfully")
    );
    assert_eq!(
        call("GET", &url("/offsets"), None).1,
        json!({"offsets": []})
    );
    daemon.stop().await.unwrap();
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sink_offsets_are_the_consumer_group() {
    let db = TestDb::new("rest_sinkoff").await;
    let topics = unique("sinkoff");
    let (daemon, base) = start(&topics).await;
    let topic = unique("sinkoff_t");
    crate::support::create_topic(&topic, 1).await;
    let message = |id: i64| {
        format!(
            r#"{{"schema":{{"type":"struct","fields":[{{"type":"int64","optional":false,"field":"id"}}],"optional":false,"name":"t"}},"payload":{{"id":{id}}}}}"#
        )
    };
    let values: Vec<String> = (1..=3).map(message).collect();
    crate::support::produce_values(&topic, &values).await;
    let name = unique("sink");
    let url = |path: &str| format!("{base}/connectors/{name}{path}");
    let (status, _) = call(
        "POST",
        &format!("{base}/connectors"),
        Some(&sink_json(&name, &db, &topic)),
    );
    assert_eq!(status, 201);
    let group = format!("connect-{name}");
    eventually(
        "the sink to commit offset 3",
        Duration::from_secs(90),
        || async { committed_offset(&group, &topic).await == Some(3) },
    )
    .await;
    let expected = json!({"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": 3}}]});
    assert_eq!(call("GET", &url("/offsets"), None).1, expected);
    call("PUT", &url("/stop"), None);
    wait_state(&base, &name, "STOPPED", &[]).await;
    let patch = json!({"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": 0}, "offset": {"kafka_offset": 1}}]});
    let (status, body) = call("PATCH", &url("/offsets"), Some(&patch.to_string()));
    assert_eq!(status, 200, "{body}");
    assert_eq!(committed_offset(&group, &topic).await, Some(1));
    // The sink, resumed, re-applies from offset 1 (rows 2 and 3 again: upserts, same count).
    db.exec(&format!("DELETE FROM `{topic}` WHERE id > 1"))
        .await;
    call("PUT", &url("/resume"), None);
    eventually(
        "rows 2 and 3 re-applied",
        Duration::from_secs(90),
        || async { count(&db, &topic).await == 3 },
    )
    .await;
    daemon.stop().await.unwrap();
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_get_clear_errors_and_the_worker_keeps_serving() {
    let db = TestDb::new("rest_bad").await;
    let (daemon, base) = start(&unique("bad")).await;
    let post = |body: &str| call("POST", &format!("{base}/connectors"), Some(body));

    let (status, body) = post("{not json");
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("not valid JSON"),
        "{body}"
    );

    let mut config = json_of(&source_json("x", &db, "p_"));
    config["config"]["connector.class"] = json!("com.example.Nope");
    let (status, body) = post(&config.to_string());
    assert_eq!(status, 400);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("Failed to find any class that implements Connector and which name matches com.example.Nope"),
        "{message}"
    );

    let mut config = json_of(&source_json("x", &db, "p_"));
    config["config"].as_object_mut().unwrap().remove("mode");
    let (status, body) = post(&config.to_string());
    assert_eq!(status, 400);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Connector configuration is invalid and contains the following 1 error(s):"
        ) && message
            .contains("Missing required configuration \"mode\" which has no default value."),
        "{message}"
    );
    assert!(
        !message.contains(&services().mariadb_password) || services().mariadb_password.len() < 3
    );

    // Topic creation keys are checked with Connect's `TopicCreationConfig` messages (Connect
    // finds these when the task starts; Sluice refuses the configuration).
    let mut config = json_of(&source_json("x", &db, "p_"));
    config["config"]["topic.creation.default.partitions"] = json!("0");
    config["config"]["topic.creation.default.replication.factor"] = json!("1");
    let (status, body) = post(&config.to_string());
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Connector configuration is invalid and contains the following 1 error(s):\n\
             Invalid value 0 for configuration topic.creation.default.partitions: Number of \
             partitions must be positive, or -1 to use the broker's default\n"
        ),
        "{message}"
    );
    config["config"]["topic.creation.default.partitions"] = json!("3");
    config["config"]
        .as_object_mut()
        .unwrap()
        .remove("topic.creation.default.replication.factor");
    let (status, body) = post(&config.to_string());
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains(
            "Missing required configuration \"topic.creation.default.replication.factor\" \
             which has no default value."
        ),
        "{body}"
    );

    for bad_name in ["a/b", "has space", ""] {
        let config = json_of(&source_json(bad_name, &db, "p_"));
        let (status, body) = post(&config.to_string());
        assert_eq!(status, 400, "{bad_name}: {body}");
        assert!(body["message"].as_str().unwrap().contains("name"), "{body}");
    }

    let huge = format!(
        r#"{{"name":"big","config":{{"x":"{}"}}}}"#,
        "y".repeat(2 * 1024 * 1024)
    );
    let (status, body) = post(&huge);
    assert_eq!(status, 413, "{body}");

    let (status, body) = call("GET", &format!("{base}/no/such/path"), None);
    assert_eq!(
        (status, body),
        (
            404,
            json!({"error_code": 404, "message": "HTTP 404 Not Found"})
        )
    );

    // Validate reports the same problems per key, with a 200.
    let (status, body) = call(
        "PUT",
        &format!("{base}/connector-plugins/JdbcSourceConnector/config/validate"),
        Some(
            r#"{"connector.class":"io.confluent.connect.jdbc.JdbcSourceConnector","name":"v","connection.url":"jdbc:mysql://h/db","mode":"sometimes","connection.password":"s3cret"}"#,
        ),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["name"],
        "io.confluent.connect.jdbc.JdbcSourceConnector"
    );
    assert!(body["error_count"].as_u64().unwrap() >= 1, "{body}");
    let mode = body["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"]["name"] == "mode")
        .unwrap();
    assert_eq!(mode["definition"]["type"], "STRING");
    assert!(
        mode["value"]["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("Invalid value sometimes for configuration mode")
    );
    assert!(!body.to_string().contains("s3cret"));
    // A value that is no string, number or boolean: 400 naming its key, by every route.
    for (method, path) in [
        ("PUT", "/connectors/odd/config"),
        (
            "PUT",
            "/connector-plugins/JdbcSourceConnector/config/validate",
        ),
    ] {
        let (status, body) = call(
            method,
            &format!("{base}{path}"),
            Some(r#"{"connector.class":"JdbcSourceConnector","tasks.max":{"n":1}}"#),
        );
        assert_eq!(status, 400, "{path}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("configuration tasks.max"), "{message}");
    }

    // Still serving.
    let (status, _) = call("GET", &format!("{base}/"), None);
    assert_eq!(status, 200);
    let (status, body) = call("GET", &format!("{base}/health"), None);
    assert_eq!(status, 200);
    assert_eq!(body["status"], "healthy");
    daemon.stop().await.unwrap();
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_table_created_later_is_picked_up() {
    let db = TestDb::new("rest_newtable").await;
    db.exec("CREATE TABLE a (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(8))")
        .await;
    db.exec("INSERT INTO a (v) VALUES ('a1')").await;
    let (daemon, base) = start(&unique("newtable")).await;
    let name = unique("all_tables");
    let prefix = format!("{}_", unique("nt"));
    let mut body = json_of(&source_json(&name, &db, &prefix));
    let config = body["config"].as_object_mut().unwrap();
    config.remove("table.whitelist");
    config.insert("table.poll.interval.ms".into(), json!("500"));
    let (status, created) = call(
        "POST",
        &format!("{base}/connectors"),
        Some(&body.to_string()),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        read_topic(&format!("{prefix}a"), 1, Duration::from_secs(30))
            .await
            .len(),
        1
    );
    let (_, tasks) = call("GET", &format!("{base}/connectors/{name}/tasks"), None);
    assert_eq!(tasks[0]["config"]["tables"], r#"["a"]"#);

    db.exec("CREATE TABLE b (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(8))")
        .await;
    db.exec("INSERT INTO b (v) VALUES ('b1'),('b2')").await;
    let records = read_topic(&format!("{prefix}b"), 2, Duration::from_secs(30)).await;
    assert_eq!(records.len(), 2, "rows of the new table arrive");
    let (_, tasks) = call("GET", &format!("{base}/connectors/{name}/tasks"), None);
    assert_eq!(tasks[0]["config"]["tables"], r#"["a","b"]"#);
    // Table a's offset survived the re-plan: its row is not read twice.
    db.exec("INSERT INTO a (v) VALUES ('a2')").await;
    let records = read_topic(&format!("{prefix}a"), 2, Duration::from_secs(30)).await;
    let ids: Vec<i64> = records
        .iter()
        .map(|r| json_of(r.value_str())["payload"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2]);
    daemon.stop().await.unwrap();
    db.drop_db().await;
}
