//! A production worker, run as the `sluice worker` process and driven with curl: secrets from
//! config providers (never shown, logged or stored resolved), the REST API over HTTPS (PKCS12
//! and PEM keystores, client certificates) checked by a client that verifies the certificate,
//! basic authentication configured as for Kafka's `BasicAuthSecurityRestExtension`, and CORS.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use crate::rest_api::{USERS, call, count, curl, json_of, wait_state};
use crate::support::{TestDb, free_port, read_exactly, read_topic, services, unique};

/// A `sluice worker` process with its own internal topics; SIGTERM and wait on drop.
struct WorkerProcess {
    child: Child,
    log: std::path::PathBuf,
    topics: String,
}

impl WorkerProcess {
    /// Starts `sluice worker` with the given REST `listeners` and extra properties, and
    /// environment; returns once `GET /` answers through `ready` (curl arguments).
    fn start(
        dir: &Path,
        listeners: &str,
        extra: &str,
        env: &[(&str, &str)],
        log_level: &str,
    ) -> WorkerProcess {
        let topics = unique("secure");
        let properties = format!(
            "bootstrap.servers={}\nlisteners={listeners}\ngroup.id={topics}-cluster\n\
             offset.storage.topic={topics}-offsets\noffset.storage.replication.factor=1\noffset.storage.partitions=1\n\
             config.storage.topic={topics}-configs\nconfig.storage.replication.factor=1\n\
             status.storage.topic={topics}-status\nstatus.storage.replication.factor=1\nstatus.storage.partitions=1\n\
             offset.flush.interval.ms=500\n{extra}\n",
            services().kafka_bootstrap
        );
        let file = dir.join(format!("{topics}.properties"));
        std::fs::write(&file, properties).unwrap();
        let log = dir.join(format!("{topics}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .args(["--log-level", log_level, "worker"])
            .arg(&file)
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        WorkerProcess { child, log, topics }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `GET /` with `args` until it answers 200 (REST serves within milliseconds).
    fn wait_serving(&mut self, url: &str, args: &[&str]) {
        let started = Instant::now();
        let mut all = args.to_vec();
        all.push(url);
        loop {
            if curl(&all, None).0 == 200 {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the worker exited with {status}: {}", self.log());
            }
            if started.elapsed() > Duration::from_secs(20) {
                let mut verbose = vec!["-v"];
                verbose.extend(&all);
                panic!(
                    "REST never served at {url}: {:?}\n{}",
                    curl(&verbose, None),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        self.log()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test database user with its own password, so the secret is a string found nowhere else.
async fn user_with_password(db: &TestDb) -> (String, String) {
    let user = unique("u").replace('_', "");
    let user = user[..user.len().min(30)].to_string();
    let password = format!("Pw-{}", unique("secret").replace('_', "-"));
    for host in ["127.0.0.1", "localhost"] {
        db.exec(&format!(
            "CREATE USER '{user}'@'{host}' IDENTIFIED BY '{password}'"
        ))
        .await;
        db.exec(&format!(
            "GRANT ALL PRIVILEGES ON `{}`.* TO '{user}'@'{host}'",
            db.name
        ))
        .await;
    }
    (user, password)
}

/// The seed's source and sink with both passwords given through config providers: a
/// `${file:…}` and an `${env:…}` reference. The pipeline runs; GET shows the references; the
/// resolved password appears in no REST response, no log line at debug level and no record of
/// the config topic; a reference that cannot be resolved is a 400 naming the key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_from_config_providers_run_the_seed_and_never_show() {
    let db = TestDb::new("secrets").await;
    db.exec(USERS).await;
    db.exec("INSERT INTO users (user_id, pwd, name, created_at) VALUES ('user1','1234','kim','2021-12-05 06:57:48'),('user2','1234','lee','2021-12-05 06:57:48')").await;
    let (user, password) = user_with_password(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    let secrets_file = secrets.join("db.properties");
    std::fs::write(&secrets_file, format!("user={user}\npassword={password}\n")).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut worker = WorkerProcess::start(
        dir.path(),
        &format!("http://127.0.0.1:{port}"),
        &format!(
            "config.providers=file,env\n\
             config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n\
             config.providers.file.param.allowed.paths={}\n\
             config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider\n\
             config.providers.env.param.allowlist.pattern=^SLUICE_SECRET_.*\n",
            secrets.display()
        ),
        &[("SLUICE_SECRET_DB_PASSWORD", &password)],
        "debug",
    );
    worker.wait_serving(&format!("{base}/"), &[]);

    let file_ref = format!("${{file:{}:password}}", secrets_file.display());
    let env_ref = "${env:SLUICE_SECRET_DB_PASSWORD}".to_string();
    let prefix = format!("{}_", unique("sec"));
    let topic = format!("{prefix}users");
    let source = unique("secret_source");
    let sink = unique("secret_sink");
    let mut responses = Vec::new();
    let mut request = |method: &str, path: &str, body: Option<Json>| {
        let url = format!("{base}{path}");
        let text = body.map(|b| b.to_string());
        let mut args = vec!["-X", method, url.as_str()];
        if text.is_some() {
            args.extend(["-d", "@-", "--header", "content-Type:application/json"]);
        }
        let (status, body) = curl(&args, text.as_deref());
        responses.push(body.clone());
        (status, body)
    };
    let source_config = json!({
        "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
        "connection.url": db.jdbc_url(),
        "connection.user": user,
        "connection.password": file_ref,
        "mode": "incrementing",
        "incrementing.column.name": "id",
        "table.whitelist": "users",
        "topic.prefix": prefix,
        "tasks.max": "1",
        "topic.creation.default.partitions": "1",
        "topic.creation.default.replication.factor": "1"
    });
    let (status, body) = request(
        "POST",
        "/connectors",
        Some(json!({"name": source, "config": source_config})),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = request(
        "POST",
        "/connectors",
        Some(json!({"name": sink, "config": {
            "connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector",
            "connection.url": db.jdbc_url(),
            "connection.user": user,
            "connection.password": env_ref,
            "auto.create": "true",
            "auto.evolve": "true",
            "delete.enabled": "false",
            "tasks.max": "1",
            "topics": topic
        }})),
    );
    assert_eq!(status, 201, "{body}");

    // The pipeline runs with the resolved passwords: both rows reach the target table.
    let started = Instant::now();
    while count(&db, &topic).await < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "rows never reached {topic}: {}",
            worker.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    read_exactly(&topic, 2, Duration::from_secs(10)).await;

    // GET shows the references as written.
    let (status, body) = request("GET", &format!("/connectors/{source}/config"), None);
    assert_eq!(status, 200);
    assert_eq!(json_of(&body)["connection.password"], file_ref.as_str());
    let (_, body) = request("GET", &format!("/connectors/{sink}"), None);
    assert_eq!(
        json_of(&body)["config"]["connection.password"],
        env_ref.as_str()
    );
    let (_, body) = request("GET", &format!("/connectors/{source}/tasks"), None);
    assert_eq!(
        json_of(&body)[0]["config"]["connection.password"],
        file_ref.as_str(),
        "task configs keep the reference"
    );
    for path in [
        format!("/connectors/{source}/status"),
        format!("/connectors/{sink}/status"),
        "/connectors?expand=status&expand=info".to_string(),
        format!("/connectors/{source}/offsets"),
        "/metrics".to_string(),
    ] {
        assert_eq!(request("GET", &path, None).0, 200, "{path}");
    }
    let (status, _) = request(
        "PUT",
        "/connector-plugins/JdbcSourceConnector/config/validate",
        Some(json!(source_config)),
    );
    assert_eq!(status, 200);

    // An unknown provider and a missing key: 400 naming the key and the reference.
    for (reference, why) in [
        ("${vault:/x:password}".to_string(), "vault"),
        (
            format!("${{file:{}:nope}}", secrets_file.display()),
            "has no key nope",
        ),
    ] {
        let mut config = source_config.clone();
        config["connection.password"] = json!(reference);
        let (status, body) = request(
            "POST",
            "/connectors",
            Some(json!({"name": unique("bad_ref"), "config": config})),
        );
        assert_eq!(status, 400, "{body}");
        let message = json_of(&body)["message"].as_str().unwrap().to_string();
        assert!(message.contains("connection.password"), "{message}");
        assert!(message.contains(&reference), "{message}");
        assert!(message.contains(why), "{message}");
    }

    // No resolved password in any response, the config topic or the debug log.
    for body in &responses {
        assert!(
            !body.contains(&password),
            "a response shows the password: {body}"
        );
    }
    let configs = read_topic(
        &format!("{}-configs", worker.topics),
        usize::MAX,
        Duration::from_secs(3),
    )
    .await;
    assert!(configs.len() >= 4, "connector and task records stored");
    for record in &configs {
        assert!(
            !record.value_str().contains(&password),
            "the config topic stores the password: {}",
            record.value_str()
        );
    }
    assert!(
        configs
            .iter()
            .any(|r| r.value_str().contains(&file_ref.replace('/', "\\/"))
                || r.value_str().contains(&file_ref)),
        "the reference is stored raw"
    );
    let log = worker.stop();
    assert!(log.contains("DEBUG"), "the log is at debug level");
    assert!(
        !log.contains(&password),
        "the log shows the password: {}",
        log.lines()
            .filter(|l| l.contains(&password))
            .collect::<Vec<_>>()
            .join("\n")
    );
    db.drop_db().await;
}

/// A CA, a server certificate for 127.0.0.1/localhost and a client certificate, made with the
/// openssl command line as users make them; the server's key and chain also as a PKCS12
/// keystore (openssl 3's default PBES2/AES encryption) and as one PEM file.
struct Certificates {
    ca: String,
    keystore_p12: String,
    server_pem: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
    truststore_p12: String,
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn certificates(dir: &Path) -> Certificates {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=Sluice Test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for name in ["server", "client"] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &format!("{name}.pem"),
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
    }
    openssl(
        dir,
        &[
            "pkcs12",
            "-export",
            "-in",
            "server.pem",
            "-inkey",
            "server.key",
            "-certfile",
            "ca.pem",
            "-name",
            "rest",
            "-passout",
            "pass:keystore-pw",
            "-out",
            "rest.p12",
        ],
    );
    openssl(
        dir,
        &[
            "pkcs12",
            "-export",
            "-nokeys",
            "-in",
            "ca.pem",
            "-passout",
            "pass:trust-pw",
            "-out",
            "trust.p12",
        ],
    );
    let key = std::fs::read_to_string(dir.join("server.key")).unwrap();
    let chain = std::fs::read_to_string(dir.join("server.pem")).unwrap();
    std::fs::write(dir.join("server-all.pem"), format!("{key}{chain}")).unwrap();
    let path = |name: &str| dir.join(name).display().to_string();
    Certificates {
        ca: path("ca.pem"),
        keystore_p12: path("rest.p12"),
        server_pem: path("server-all.pem"),
        server_cert: path("server.pem"),
        server_key: path("server.key"),
        client_cert: path("client.pem"),
        client_key: path("client.key"),
        truststore_p12: path("trust.p12"),
    }
}

/// A worker serving HTTPS alone on a free port with the `extra` TLS properties, and its root URL.
fn https_worker(dir: &Path, extra: &str) -> (WorkerProcess, String) {
    let port = free_port();
    let worker = WorkerProcess::start(
        dir,
        &format!("https://localhost:{port}"),
        extra,
        &[],
        "info",
    );
    (worker, format!("https://localhost:{port}/"))
}

/// One line of a properties file holding a PEM text (newlines escaped, as Connect reads it).
fn pem_property(key: &str, path: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    format!("{key}={}", text.trim_end().replace('\n', "\\n\\\n"))
}

/// HTTPS with a PKCS12 keystore (beside a plain HTTP listener), with a PEM file, and with
/// inline PEM plus a required client certificate checked against a PKCS12 truststore; each
/// checked by curl verifying the server's certificate against the CA; plain HTTP on the HTTPS
/// port gets no answer.
#[test]
fn https_with_pkcs12_and_pem_keystores() {
    let dir = tempfile::tempdir().unwrap();
    let certs = certificates(dir.path());
    let verify = ["--cacert", certs.ca.as_str()];

    // PKCS12 keystore, HTTP and HTTPS side by side; Connect's listeners.https.* prefix.
    let (http, https) = (free_port(), free_port());
    let mut worker = WorkerProcess::start(
        dir.path(),
        &format!("http://127.0.0.1:{http},https://localhost:{https}"),
        &format!(
            "listeners.https.ssl.keystore.type=PKCS12\n\
             listeners.https.ssl.keystore.location={}\n\
             listeners.https.ssl.keystore.password=keystore-pw\n\
             listeners.https.ssl.key.password=keystore-pw\n",
            certs.keystore_p12
        ),
        &[],
        "info",
    );
    let secure = format!("https://localhost:{https}");
    worker.wait_serving(&format!("{secure}/"), &verify);
    let (status, body) = curl(
        &["--cacert", &certs.ca, &format!("{secure}/connectors")],
        None,
    );
    assert_eq!((status, body.as_str()), (200, "[]"));
    assert_eq!(curl(&[&format!("http://127.0.0.1:{http}/")], None).0, 200);
    // Without the CA the certificate is not trusted; plain HTTP on the HTTPS port fails.
    assert_eq!(curl(&[&format!("{secure}/")], None).0, 0);
    assert_ne!(curl(&[&format!("http://localhost:{https}/")], None).0, 200);
    worker.stop();

    // A PEM file holding the key and the chain (top-level ssl.* keys).
    let (mut worker, url) = https_worker(
        dir.path(),
        &format!(
            "ssl.keystore.type=PEM\nssl.keystore.location={}\n",
            certs.server_pem
        ),
    );
    worker.wait_serving(&url, &verify);
    worker.stop();

    // Inline PEM key and chain; client certificates required, checked against a PKCS12
    // truststore.
    let (mut worker, url) = https_worker(
        dir.path(),
        &format!(
            "listeners.https.ssl.keystore.type=PEM\n{}\n{}\n\
             listeners.https.ssl.client.auth=required\n\
             listeners.https.ssl.truststore.type=PKCS12\n\
             listeners.https.ssl.truststore.location={}\n\
             listeners.https.ssl.truststore.password=trust-pw\n",
            pem_property("listeners.https.ssl.keystore.key", &certs.server_key),
            pem_property(
                "listeners.https.ssl.keystore.certificate.chain",
                &certs.server_cert
            ),
            certs.truststore_p12
        ),
    );
    let with_client = [
        "--cacert",
        certs.ca.as_str(),
        "--cert",
        certs.client_cert.as_str(),
        "--key",
        certs.client_key.as_str(),
    ];
    worker.wait_serving(&url, &with_client);
    assert_ne!(curl(&["--cacert", &certs.ca, &url], None).0, 200);
    worker.stop();
}

/// A JKS keystore fails the worker at start with the keytool command that converts it.
#[test]
fn a_jks_keystore_fails_at_start_saying_how_to_convert_it() {
    let dir = tempfile::tempdir().unwrap();
    let jks = dir.path().join("rest.jks");
    std::fs::write(&jks, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2, 0, 0, 0, 0]).unwrap();
    let properties = dir.path().join("worker.properties");
    std::fs::write(
        &properties,
        format!(
            "bootstrap.servers={}\nlisteners=https://127.0.0.1:{}\nssl.keystore.location={}\nssl.keystore.password=x\n",
            services().kafka_bootstrap,
            free_port(),
            jks.display()
        ),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("worker")
        .arg(&properties)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "keytool -importkeystore -srckeystore {0} -srcstoretype JKS -destkeystore {0}.p12 -deststoretype PKCS12",
            jks.display()
        )),
        "{stderr}"
    );
}

/// Basic authentication as connect-distributed users configure it: the extension class, the
/// JAAS file named in KAFKA_OPTS, a credentials file. 401 with `WWW-Authenticate: Basic`
/// without credentials or with a wrong password, 200 with the right ones (also over HTTPS);
/// CORS preflights from an allowed origin are answered without credentials.
#[test]
fn basic_auth_and_cors() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("connect.password");
    std::fs::write(&users, "admin: admin-secret,admin\nops=ops-secret\n").unwrap();
    let jaas = dir.path().join("connect-jaas.conf");
    std::fs::write(
        &jaas,
        format!(
            "KafkaConnect {{\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file=\"{}\";\n}};\n",
            users.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let kafka_opts = format!(
        "-Xmx256m -Djava.security.auth.login.config={}",
        jaas.display()
    );
    let mut worker = WorkerProcess::start(
        dir.path(),
        &base,
        "rest.extension.classes=org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension\n\
         access.control.allow.origin=http://ui.example\n\
         access.control.allow.methods=GET,POST,PUT,DELETE\n",
        &[("KAFKA_OPTS", &kafka_opts)],
        "info",
    );
    worker.wait_serving(&format!("{base}/"), &["-u", "admin:admin-secret"]);

    let (status, body) = curl(&["-i", &format!("{base}/connectors")], None);
    assert_eq!(status, 401);
    assert!(
        body.to_ascii_lowercase()
            .contains("www-authenticate: basic realm=\"kafkaconnect\""),
        "{body}"
    );
    assert!(body.ends_with("User cannot access the resource."), "{body}");
    assert_eq!(
        curl(&["-u", "admin:wrong", &format!("{base}/connectors")], None).0,
        401
    );
    assert_eq!(
        curl(&["-u", "nobody:admin-secret", &format!("{base}/")], None).0,
        401
    );
    assert_eq!(
        curl(
            &["-u", "admin:admin-secret", &format!("{base}/connectors")],
            None
        ),
        (200, "[]".to_string())
    );
    assert_eq!(
        curl(&["-u", "ops:ops-secret", &format!("{base}/health")], None).0,
        200
    );

    // A browser's preflight from the allowed origin, without credentials.
    let (status, headers) = curl(
        &[
            "-i",
            "-X",
            "OPTIONS",
            "-H",
            "Origin: http://ui.example",
            "-H",
            "Access-Control-Request-Method: PUT",
            &format!("{base}/connectors"),
        ],
        None,
    );
    let headers = headers.to_ascii_lowercase();
    assert_eq!(status, 200, "{headers}");
    assert!(
        headers.contains("access-control-allow-origin: http://ui.example"),
        "{headers}"
    );
    assert!(headers.contains("put"), "{headers}");
    let (_, other) = curl(
        &[
            "-i",
            "-u",
            "admin:admin-secret",
            "-H",
            "Origin: http://evil.example",
            &format!("{base}/"),
        ],
        None,
    );
    assert!(
        !other
            .to_ascii_lowercase()
            .contains("access-control-allow-origin"),
        "{other}"
    );
    let log = worker.stop();
    assert!(!log.contains("admin-secret"), "{log}");
}

/// The seed's order of steps, scripted with no sleep: start the worker, `GET /` until it
/// answers, POST the connector at once. The POST is held until the worker is ready (201, never
/// 503), its task runs from the first group join, `/health` is then 200, and the restart
/// call of PyPI's kafka-connect-py (`includeTasks=True&onlyFailed=False`) is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_right_after_the_first_get_is_held_not_refused() {
    let db = TestDb::new("startup").await;
    db.exec(USERS).await;
    db.exec("INSERT INTO users (user_id) VALUES ('a'),('b')")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut worker = WorkerProcess::start(dir.path(), &base, "", &[], "info");
    worker.wait_serving(&format!("{base}/"), &[]);
    // `GET /` names the Kafka cluster from its first answer, as Connect's does.
    let (_, root) = curl(&[&format!("{base}/")], None);
    assert!(json_of(&root)["kafka_cluster_id"].is_string(), "{root}");
    let name = unique("startup_src");
    let prefix = format!("{}_", unique("st"));
    let (status, body) = call(
        "POST",
        &format!("{base}/connectors"),
        Some(&crate::rest_api::source_json(&name, &db, &prefix)),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(curl(&[&format!("{base}/health")], None).0, 200);
    wait_state(&base, &name, "RUNNING", &["RUNNING"]).await;
    assert_eq!(
        read_topic(&format!("{prefix}users"), 2, Duration::from_secs(30))
            .await
            .len(),
        2
    );
    let (status, body) = call(
        "POST",
        &format!("{base}/connectors/{name}/restart?includeTasks=True&onlyFailed=False"),
        None,
    );
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["name"], name.as_str());
    // `initial_state` is read case-insensitively, as Connect reads it.
    let stopped = unique("startup_stopped");
    let mut body = crate::source_jdbc::source_config(&stopped, &db, &prefix, &[]);
    body["initial_state"] = json!("stopped");
    let (status, created) = call(
        "POST",
        &format!("{base}/connectors"),
        Some(&body.to_string()),
    );
    assert_eq!(status, 201, "{created}");
    wait_state(&base, &stopped, "STOPPED", &[]).await;
    worker.stop();
    db.drop_db().await;
}
