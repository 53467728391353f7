//! The Grafana dashboard against a real Prometheus: a worker runs a JDBC source and a JDBC sink
//! (with one bad record sent to the dead-letter topic), Debian's `prometheus` scrapes its
//! `/metrics` with the checked-in `grafana/prometheus.yml` (pointed at the worker's port), and
//! every query of `grafana/dashboard.json` (panels and template variables) must return data.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use crate::rest_api::{USERS, call, count, curl, sink_json, source_json, start, wait_state};
use crate::support::{TestDb, eventually, produce, unique};

/// The scrape target and interval in the checked-in `grafana/prometheus.yml`, replaced by the
/// test's.
const CHECKED_IN_TARGET: &str = "localhost:8083";
const CHECKED_IN_INTERVAL: &str = "scrape_interval: 15s";

/// A running Prometheus, killed (and its data removed) when dropped, also on a panic.
struct Prometheus {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// `GET /api/v1/query?query=…` → the `data.result` array (panics on an API error).
    fn query(&self, expr: &str) -> Vec<Json> {
        let (status, body) = curl(
            &[
                "-G",
                &format!("{}/api/v1/query", self.base),
                "--data-urlencode",
                &format!("query={expr}"),
            ],
            None,
        );
        let json: Json = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("Prometheus answered {status} with non-JSON ({e}): {body}"));
        assert_eq!(
            (status, json["status"].as_str()),
            (200, Some("success")),
            "query {expr} failed: {body}"
        );
        json["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// The `prometheus` binary: on PATH or Debian's /usr/bin/prometheus.
fn prometheus_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("prometheus"))
            .find(|candidate| candidate.is_file())
    });
    on_path
        .or_else(|| Some(PathBuf::from("/usr/bin/prometheus")).filter(|p| p.is_file()))
        .unwrap_or_else(|| {
            panic!(
                "the `prometheus` binary is missing: install Debian's package \
                 (`apt-get install -y prometheus`; .ci/run does) to run the dashboard test"
            )
        })
}

/// Starts Prometheus with the checked-in scrape config, retargeted at `target` (host:port) and
/// scraping every second; returns once it is ready.
fn start_prometheus(target: &str) -> Prometheus {
    let binary = prometheus_binary();
    let checked_in = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("grafana/prometheus.yml"),
    )
    .expect("grafana/prometheus.yml");
    assert!(
        checked_in.contains(CHECKED_IN_TARGET) && checked_in.contains(CHECKED_IN_INTERVAL),
        "grafana/prometheus.yml no longer scrapes {CHECKED_IN_TARGET} with {CHECKED_IN_INTERVAL}"
    );
    let config = checked_in
        .replace(CHECKED_IN_TARGET, target)
        .replace(CHECKED_IN_INTERVAL, "scrape_interval: 1s");
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
    let port = crate::support::free_port();
    let child = Command::new(&binary)
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let mut prometheus = Prometheus {
        child,
        base: format!("http://127.0.0.1:{port}"),
        dir,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = prometheus.child.try_wait().unwrap() {
            panic!("prometheus exited with {status}:\n{}", prometheus.log());
        }
        let (status, _) = curl(&[&format!("{}/-/ready", prometheus.base)], None);
        if status == 200 {
            return prometheus;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus not ready after 60 s:\n{}",
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every query of the dashboard: `(where, expr)` for each panel target (rows' nested panels
/// included) and template variable.
fn dashboard_queries(dashboard: &Json) -> Vec<(String, String)> {
    fn panels(list: &Json, out: &mut Vec<(String, String)>) {
        for panel in list.as_array().into_iter().flatten() {
            let title = panel["title"].as_str().unwrap_or("(untitled)");
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    out.push((
                        format!("panel {title:?} target {}", target["refId"]),
                        expr.to_string(),
                    ));
                }
            }
            panels(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    panels(&dashboard["panels"], &mut out);
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if variable["type"] != "query" {
            continue;
        }
        let query = variable["definition"]
            .as_str()
            .or_else(|| variable["query"]["query"].as_str())
            .or_else(|| variable["query"].as_str())
            .expect("a query variable's query");
        // label_values(selector, label) → the selector must return series carrying the label.
        let expr = query
            .strip_prefix("label_values(")
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(|inner| inner.rsplit_once(','))
            .map(|(selector, label)| format!("count by ({}) ({selector})", label.trim()))
            .unwrap_or_else(|| query.to_string());
        out.push((
            format!("variable ${}", variable["name"].as_str().unwrap()),
            expr,
        ));
    }
    out
}

/// Substitutes the template variables as Grafana does for a multi-value regex selection.
fn substitute(expr: &str, connectors: &str) -> String {
    let expr = expr
        .replace("${connector}", connectors)
        .replace("$connector", connectors)
        .replace("${task}", ".*")
        .replace("$task", ".*")
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "15s");
    assert!(
        !expr.contains('$'),
        "{expr}: a template variable the test does not know"
    );
    expr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_dashboard_query_returns_data_from_prometheus() {
    // Fail early and clearly when Prometheus is not installed.
    prometheus_binary();
    let db = TestDb::new("grafana").await;
    db.exec(USERS).await;
    db.exec("INSERT INTO users (user_id, name) VALUES ('u1','kim'),('u2','lee'),('u3','park')")
        .await;
    let (daemon, base) = start(&unique("graf")).await;

    let source = unique("graf-source");
    let prefix = format!("{}_", unique("graf"));
    let topic = format!("{prefix}users");
    let (status, body) = call(
        "POST",
        &format!("{base}/connectors"),
        Some(&source_json(&source, &db, &prefix)),
    );
    assert_eq!(status, 201, "{body}");
    let sink = unique("graf-sink");
    let dlq = unique("graf_dlq");
    let mut sink_config: Json = serde_json::from_str(&sink_json(&sink, &db, &topic)).unwrap();
    let config = sink_config["config"].as_object_mut().unwrap();
    for (key, value) in [
        ("errors.tolerance", "all"),
        ("errors.deadletterqueue.topic.name", dlq.as_str()),
        ("errors.deadletterqueue.topic.replication.factor", "1"),
        ("errors.deadletterqueue.context.headers.enable", "true"),
    ] {
        config.insert(key.into(), json!(value));
    }
    let (status, body) = call(
        "POST",
        &format!("{base}/connectors"),
        Some(&sink_config.to_string()),
    );
    assert_eq!(status, 201, "{body}");
    wait_state(&base, &source, "RUNNING", &["RUNNING"]).await;
    wait_state(&base, &sink, "RUNNING", &["RUNNING"]).await;
    eventually(
        "the rows in the sink's table",
        Duration::from_secs(90),
        || async { count(&db, &topic).await == 3 },
    )
    .await;
    // One record the sink cannot convert: tolerated, counted and sent to the dead-letter topic.
    produce(&topic, &[(Some("k"), Some("this is not json"))]).await;
    let dead_letter_line = format!(
        "sluice_sink_dead_letter_records_total{{connector=\"{sink}\",task=\"0\",topic=\"{topic}\"}} 1"
    );
    eventually(
        "the dead-letter counter",
        Duration::from_secs(60),
        || async {
            curl(&[&format!("{base}/metrics")], None)
                .1
                .lines()
                .any(|line| line == dead_letter_line)
        },
    )
    .await;

    let target = base.trim_start_matches("http://").to_string();
    let prometheus = tokio::task::spawn_blocking(move || start_prometheus(&target))
        .await
        .unwrap();
    // Enough scrapes for rate() over the dashboard's windows.
    let deadline = Instant::now() + Duration::from_secs(60);
    let scrapes = "count_over_time(up{job=\"sluice\"}[1m])";
    loop {
        let result = prometheus.query(scrapes);
        let samples = result
            .first()
            .and_then(|r| r["value"][1].as_str())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        let up = prometheus.query("up{job=\"sluice\"} == 1");
        if samples >= 5.0 && !up.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape the worker ({samples} scrapes; up: {up:?}):\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let dashboard: Json = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("grafana/dashboard.json"),
        )
        .expect("grafana/dashboard.json"),
    )
    .expect("grafana/dashboard.json is JSON");
    let queries = dashboard_queries(&dashboard);
    assert!(queries.len() >= 20, "too few queries: {queries:?}");
    let connectors = format!("({source}|{sink})");
    let mut empty = Vec::new();
    for (place, expr) in &queries {
        let expr = substitute(expr, &connectors);
        let result = prometheus.query(&expr);
        println!("{place}: {} series  ← {expr}", result.len());
        if result.is_empty() {
            empty.push(format!("{place}: {expr}"));
        }
    }
    assert!(
        empty.is_empty(),
        "dashboard queries without data:\n{}",
        empty.join("\n")
    );

    // The values behind the panels are the pipeline's.
    let value = |expr: &str| -> f64 {
        let result = prometheus.query(expr);
        assert_eq!(result.len(), 1, "{expr}: {result:?}");
        result[0]["value"][1].as_str().unwrap().parse().unwrap()
    };
    let table = format!("{}.users", db.name);
    assert_eq!(
        value(&format!(
            "sluice_source_records_read_total{{connector=\"{source}\",table=\"{table}\"}}"
        )),
        3.0
    );
    assert_eq!(
        value(&format!(
            "sluice_source_records_written_total{{connector=\"{source}\",table=\"{table}\"}}"
        )),
        3.0
    );
    assert_eq!(
        value(&format!(
            "sluice_sink_records_read_total{{connector=\"{sink}\",topic=\"{topic}\"}}"
        )),
        4.0
    );
    assert_eq!(
        value(&format!(
            "sluice_sink_records_written_total{{connector=\"{sink}\",topic=\"{topic}\"}}"
        )),
        3.0
    );
    assert_eq!(
        value(&format!(
            "sluice_sink_records_failed_total{{connector=\"{sink}\",topic=\"{topic}\"}}"
        )),
        1.0
    );
    assert_eq!(
        value(&format!(
            "sluice_sink_dead_letter_records_total{{connector=\"{sink}\",topic=\"{topic}\"}}"
        )),
        1.0
    );
    assert!(value(&format!("sluice_sink_bytes_total{{connector=\"{sink}\"}}")) > 0.0);
    assert!(
        value(&format!(
            "sluice_source_bytes_total{{connector=\"{source}\"}}"
        )) > 0.0
    );
    let lag = value(&format!(
        "time() - sluice_source_last_read_timestamp_seconds{{connector=\"{source}\"}}"
    ));
    assert!((0.0..600.0).contains(&lag), "source lag {lag}");
    assert_eq!(
        value(&format!(
            "sluice_task_state{{connector=\"{sink}\",task=\"0\",state=\"RUNNING\"}}"
        )),
        1.0
    );

    drop(prometheus);
    daemon.stop().await.unwrap();
    db.drop_db().await;
}
