//! The `sluice` binary: version, help, and clear errors for bad worker or connector files.

use std::process::Command;

fn sluice(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run sluice");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
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
