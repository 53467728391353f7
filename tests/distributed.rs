//! Distributed mode: `sluice worker` processes with the same `group.id` and internal topics
//! share the connectors' tasks through Kafka's group membership, answer REST calls for the
//! whole cluster, and take a dead worker's tasks over.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value as Json, json};

use crate::rest_api::{call, count, wait_state};
use crate::support::{TestDb, eventually, read_exactly, read_topic, services, unique};

/// A `sluice worker` process with its REST address; killed (SIGKILL) when dropped, printing the
/// end of its log if the test failed. `SLUICE_TEST_WORKER_LOG` sets its `RUST_LOG`, and
/// `SLUICE_TEST_WORKER_PROPS` (`key=value;…`) adds worker properties (e.g. `consumer.debug=cgrp`).
pub(crate) struct WorkerProcess {
    child: Child,
    pub(crate) base: String,
    id: String,
    log: PathBuf,
}

impl WorkerProcess {
    pub(crate) fn start(
        dir: &tempfile::TempDir,
        name: &str,
        topics: &str,
        port: u16,
    ) -> WorkerProcess {
        let s = services();
        let properties = dir.path().join(format!("{name}.properties"));
        std::fs::write(
            &properties,
            format!(
                "bootstrap.servers={}\n\
                 group.id={topics}-cluster\n\
                 listeners=http://127.0.0.1:{port}\n\
                 offset.storage.topic={topics}-offsets\noffset.storage.replication.factor=1\noffset.storage.partitions=5\n\
                 config.storage.topic={topics}-configs\nconfig.storage.replication.factor=1\n\
                 status.storage.topic={topics}-status\nstatus.storage.replication.factor=1\nstatus.storage.partitions=3\n\
                 offset.flush.interval.ms=200\n\
                 session.timeout.ms=6000\nheartbeat.interval.ms=1000\n\
                 consumer.session.timeout.ms=6000\nconsumer.heartbeat.interval.ms=1000\n{}",
                s.kafka_bootstrap,
                std::env::var("SLUICE_TEST_WORKER_PROPS").unwrap_or_default().replace(';', "\n")
            ),
        )
        .unwrap();
        let log = dir.path().join(format!("{name}-{}.log", unique("run")));
        let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("worker")
            .arg(&properties)
            .env(
                "RUST_LOG",
                std::env::var("SLUICE_TEST_WORKER_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        WorkerProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
            id: format!("127.0.0.1:{port}"),
            log,
        }
    }

    pub(crate) async fn healthy(&self) {
        let url = format!("{}/health", self.base);
        eventually("the worker to start", Duration::from_secs(60), || async {
            call("GET", &url, None).0 == 200
        })
        .await;
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM; returns the exit code.
    async fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "worker did not stop: {}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(400)..].join("\n");
            eprintln!("--- last lines of worker {} ---\n{tail}", self.id);
        }
    }
}

/// The worker of every task of the connector once all are RUNNING, as `base` reports them.
async fn running_on(base: &str, name: &str, tasks: usize, accept: impl Fn(&[String]) -> bool) {
    let url = format!("{base}/connectors/{name}/status");
    let mut last = Json::Null;
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while std::time::Instant::now() < deadline {
        let (status, body) = call("GET", &url, None);
        if status == 200
            && body["connector"]["state"] == "RUNNING"
            && let Some(list) = body["tasks"].as_array()
            && list.len() == tasks
            && list.iter().all(|t| t["state"] == "RUNNING")
        {
            let workers: Vec<String> = list
                .iter()
                .map(|t| t["worker_id"].as_str().unwrap_or("").to_string())
                .collect();
            if accept(&workers) {
                return;
            }
        }
        last = body;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    panic!("{name}: tasks never ran as expected; last status from {base}: {last}");
}

const TABLE: &str = "(id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(32))";

async fn insert(db: &TestDb, table: &str, values: &[&str]) {
    let rows: Vec<String> = values.iter().map(|v| format!("('{v}')")).collect();
    db.exec(&format!(
        "INSERT INTO {table} (v) VALUES {}",
        rows.join(",")
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_share_tasks_and_take_over_from_a_dead_one() {
    let db = TestDb::new("dist").await;
    db.exec(&format!("CREATE TABLE t1 {TABLE}")).await;
    db.exec(&format!("CREATE TABLE t2 {TABLE}")).await;
    insert(&db, "t1", &["a", "b", "c"]).await;
    insert(&db, "t2", &["x", "y"]).await;
    let topics = unique("dist");
    let dir = tempfile::tempdir().unwrap();
    let (port_a, port_b) = (crate::support::free_port(), crate::support::free_port());
    let mut a = WorkerProcess::start(&dir, "a", &topics, port_a);
    a.healthy().await;
    let b = WorkerProcess::start(&dir, "b", &topics, port_b);
    b.healthy().await;

    // A source with two tables and two tasks, and a sink with two tasks, created on A.
    let source = unique("dsrc");
    let prefix = format!("{}_", unique("dist"));
    let (t1, t2) = (format!("{prefix}t1"), format!("{prefix}t2"));
    let source_body = crate::source_jdbc::source_config(
        &source,
        &db,
        &prefix,
        &[("table.whitelist", "t1,t2"), ("tasks.max", "2")],
    );
    let sink = unique("dsink");
    let sink_body = crate::tools::upsert_sink_with(&sink, &db, &format!("{t1},{t2}"), 2);
    let (status, created) = call(
        "POST",
        &format!("{}/connectors", a.base),
        Some(&source_body.to_string()),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["tasks"].as_array().map(Vec::len),
        Some(2),
        "{created}"
    );
    let (status, created) = call(
        "POST",
        &format!("{}/connectors", a.base),
        Some(&sink_body.to_string()),
    );
    assert_eq!(status, 201, "{created}");

    // B serves the cluster's connectors from the shared topics, and the tasks are spread.
    let mut expected = vec![source.clone(), sink.clone()];
    expected.sort();
    eventually(
        "B to list both connectors",
        Duration::from_secs(30),
        || async { call("GET", &format!("{}/connectors", b.base), None) == (200, json!(expected)) },
    )
    .await;
    let (a_id, b_id) = (a.id.clone(), b.id.clone());
    let both = move |workers: &[String]| {
        let mut distinct = workers.to_vec();
        distinct.sort();
        distinct.dedup();
        let mut ids = vec![a_id.clone(), b_id.clone()];
        ids.sort();
        distinct == ids
    };
    running_on(&b.base, &source, 2, &both).await;
    running_on(&b.base, &sink, 2, &both).await;
    running_on(&a.base, &source, 2, &both).await;

    // Rows flow end to end.
    eventually(
        "rows in the sink tables",
        Duration::from_secs(90),
        || async { count(&db, &t1).await == 3 && count(&db, &t2).await == 2 },
    )
    .await;

    // A task restart asked of B happens where the task runs.
    let (_, status) = call(
        "GET",
        &format!("{}/connectors/{source}/status", b.base),
        None,
    );
    let on_a = status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["worker_id"] == a.id.as_str())
        .map(|t| t["id"].as_u64().unwrap())
        .unwrap_or_else(|| panic!("no task on A: {status}"));
    let stopped_on_a = |log: String| {
        let task = format!("[(\"{source}\", {on_a})]");
        log.lines()
            .filter(|l| l.contains("stopping tasks") && l.contains(&task))
            .count()
    };
    let before = stopped_on_a(a.log());
    let (status, body) = call(
        "POST",
        &format!("{}/connectors/{source}/tasks/{on_a}/restart", b.base),
        None,
    );
    assert_eq!((status, body), (204, Json::Null));
    eventually("A to restart its task", Duration::from_secs(30), || async {
        stopped_on_a(a.log()) > before
    })
    .await;
    running_on(&b.base, &source, 2, &both).await;

    // Pause and resume through B act on the tasks running on A too.
    let (status, _) = call(
        "PUT",
        &format!("{}/connectors/{source}/pause", b.base),
        None,
    );
    assert_eq!(status, 202);
    wait_state(&a.base, &source, "PAUSED", &["PAUSED", "PAUSED"]).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    insert(&db, "t1", &["d"]).await;
    insert(&db, "t2", &["z"]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let read = |topic: String| async move {
        read_topic(&topic, usize::MAX, Duration::from_secs(2))
            .await
            .len()
    };
    assert_eq!(
        (read(t1.clone()).await, read(t2.clone()).await),
        (3, 2),
        "a paused connector reads nothing, on either worker"
    );
    let (status, _) = call(
        "PUT",
        &format!("{}/connectors/{source}/resume", b.base),
        None,
    );
    assert_eq!(status, 202);
    running_on(&a.base, &source, 2, &both).await;
    read_exactly(&t1, 4, Duration::from_secs(30)).await;
    read_exactly(&t2, 3, Duration::from_secs(30)).await;

    // A dies without a word: B takes every task over; rows inserted meanwhile still arrive.
    a.kill();
    insert(&db, "t1", &["e", "f"]).await;
    insert(&db, "t2", &["w"]).await;
    let survivor = b.id.clone();
    let only_b = move |workers: &[String]| workers.iter().all(|w| *w == survivor);
    running_on(&b.base, &source, 2, &only_b).await;
    running_on(&b.base, &sink, 2, &only_b).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while !(count(&db, &t1).await == 6 && count(&db, &t2).await == 4) {
        if std::time::Instant::now() > deadline {
            let status =
                |name: &str| call("GET", &format!("{}/connectors/{name}/status", b.base), None).1;
            panic!(
                "rows inserted after the kill never reached the sink: tables {} {}, topics {} {}, source {}, sink {}",
                count(&db, &t1).await,
                count(&db, &t2).await,
                read(t1.clone()).await,
                read(t2.clone()).await,
                status(&source),
                status(&sink)
            );
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    insert(&db, "t1", &["g"]).await;
    eventually("a row inserted later", Duration::from_secs(60), || async {
        count(&db, &t1).await == 7
    })
    .await;

    // A comes back: it restores the connectors from the topics and gets its share again.
    let a = WorkerProcess::start(&dir, "a", &topics, port_a);
    a.healthy().await;
    running_on(&a.base, &source, 2, &both).await;

    // Offsets changed through B while the connector is stopped are where the tasks resume,
    // whichever worker runs them: t1 from id 5, so rows 6 and 7 arrive again.
    let (status, _) = call("PUT", &format!("{}/connectors/{source}/stop", b.base), None);
    assert_eq!(status, 204);
    wait_state(&a.base, &source, "STOPPED", &[]).await;
    let partition = json!({"protocol": "1", "table": format!("{}.t1", db.name)});
    let patch = json!({"offsets": [{"partition": partition, "offset": {"incrementing": 5}}]});
    let (status, body) = call(
        "PATCH",
        &format!("{}/connectors/{source}/offsets", b.base),
        Some(&patch.to_string()),
    );
    assert_eq!(status, 200, "{body}");
    let (status, _) = call(
        "PUT",
        &format!("{}/connectors/{source}/resume", a.base),
        None,
    );
    assert_eq!(status, 202);
    eventually(
        "rows 6 and 7 read again",
        Duration::from_secs(60),
        || async {
            let ids: Vec<i64> = read_topic(&t1, usize::MAX, Duration::from_secs(2))
                .await
                .iter()
                .filter_map(|r| serde_json::from_str::<Json>(r.value_str()).ok())
                .filter_map(|v| v["payload"]["id"].as_i64())
                .collect();
            ids.iter().filter(|id| **id == 7).count() >= 2
        },
    )
    .await;
    running_on(&b.base, &source, 2, &both).await;

    // Deleting through B stops the tasks on A as well.
    let (status, _) = call("DELETE", &format!("{}/connectors/{source}", b.base), None);
    assert_eq!(status, 204);
    eventually(
        "A to forget the connector",
        Duration::from_secs(30),
        || async { call("GET", &format!("{}/connectors/{source}", a.base), None).0 == 404 },
    )
    .await;
    let before = (read(t1.clone()).await, read(t2.clone()).await);
    insert(&db, "t1", &["h"]).await;
    insert(&db, "t2", &["v"]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        (read(t1.clone()).await, read(t2.clone()).await),
        before,
        "a deleted connector reads nothing, on either worker"
    );
    let (_, list) = call("GET", &format!("{}/connectors", a.base), None);
    assert_eq!(list, json!([sink]));

    let a_log = a.log();
    assert_eq!(a.terminate().await, Some(0), "{a_log}");
    let b_log = b.log();
    assert_eq!(b.terminate().await, Some(0), "{b_log}");
    db.drop_db().await;
}
