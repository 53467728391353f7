//! Kafka Connect's REST API (`connect-runtime` `rest/resources`): the same paths, status codes
//! and JSON bodies, so `curl` scripts, the Confluent CLI and UIs keep working. Errors are
//! `{"error_code":<status>,"message":…}`. Passwords are never returned: values of password
//! keys read `[hidden]`, and a `[hidden]` sent back keeps the stored value.

mod auth;
mod offsets;
pub(crate) mod server;
mod tls;
mod validate;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Map, Value as Json, json};

use crate::config::connector::json_map;
use crate::config::{ConfigProviders, ConnectorConfig, Password};
use crate::connector::{ConnectorType, TaskConfig};
use crate::error::{Error, ErrorKind};
use crate::runtime::herder::{ConnectorInfo, ConnectorStatus, Herder, StateInfo};
use crate::runtime::startup::{REQUEST_TIMEOUT, Startup};
use crate::runtime::store::TargetState;

/// Largest request body accepted (a connector config is a few KiB).
const BODY_LIMIT: usize = 1024 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct RestState {
    /// The herder, once the worker has read its topics, joined its group, been assigned its
    /// slots and restored its connectors; requests that need it wait for it.
    pub(crate) startup: Startup,
    pub(crate) plugins: crate::connector::Plugins,
    /// Resolve `${provider:path:key}` references for validation.
    pub(crate) config_providers: ConfigProviders,
    /// The worker's configuration (its converters, for validation).
    pub(crate) worker: std::sync::Arc<crate::config::WorkerConfig>,
    /// Renders `/metrics`; `None` when no recorder is installed.
    pub(crate) metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// The Kafka cluster's id: `None` until the worker has asked Kafka, then what Kafka said.
    pub(crate) kafka_cluster_id: tokio::sync::watch::Receiver<Option<Option<String>>>,
    /// `http://host:port`, for `Location` headers.
    pub(crate) advertised_url: String,
}

/// A REST error: Connect's `ErrorMessage`.
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let status = match error.kind() {
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Config => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            error.trace()
        } else {
            error.context().to_string()
        };
        ApiError::new(status, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error_code": self.status.as_u16(), "message": self.message});
        (self.status, axum::Json(body)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

impl RestState {
    /// The herder; while the worker is starting the request waits for it, as Connect holds it,
    /// and fails after Connect's 90 s with 500 naming the stage the worker is in.
    async fn herder(&self) -> ApiResult<Arc<Herder>> {
        self.startup
            .herder(REQUEST_TIMEOUT)
            .await
            .map_err(|message| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message))
    }
}

/// The API's routes.
pub(crate) fn router(state: RestState) -> Router {
    Router::new()
        .route("/", get(server_info))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/connector-plugins", get(list_plugins))
        .route("/connector-plugins/{plugin}/config", get(plugin_config))
        .route(
            "/connector-plugins/{plugin}/config/validate",
            put(validate_config),
        )
        .route("/connectors", get(list_connectors).post(create_connector))
        .route(
            "/connectors/{name}",
            get(connector_info).delete(delete_connector),
        )
        .route(
            "/connectors/{name}/config",
            get(connector_config)
                .put(put_connector_config)
                .patch(patch_connector_config),
        )
        .route("/connectors/{name}/status", get(connector_status))
        .route("/connectors/{name}/tasks", get(task_configs))
        .route("/connectors/{name}/tasks/{task}/status", get(task_status))
        .route(
            "/connectors/{name}/tasks/{task}/restart",
            post(restart_task),
        )
        .route("/connectors/{name}/restart", post(restart_connector))
        .route("/connectors/{name}/pause", put(pause))
        .route("/connectors/{name}/resume", put(resume))
        .route("/connectors/{name}/stop", put(stop))
        .route(
            "/connectors/{name}/offsets",
            get(offsets::get_offsets)
                .patch(offsets::alter_offsets)
                .delete(offsets::reset_offsets),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "HTTP 404 Not Found")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "HTTP 405 Method Not Allowed",
    )
}

/// Reads a JSON request body, with Connect-style errors for a bad or oversized one.
fn json_body(body: Result<Bytes, BytesRejection>) -> ApiResult<Json> {
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                format!("Request body is larger than the limit of {BODY_LIMIT} bytes"),
            )
        } else {
            ApiError::new(status, rejection.body_text())
        }
    })?;
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("Request body is not valid JSON: {e}")))
}

/// `GET /`. Connect looks the cluster id up before it serves REST; Sluice serves at once and
/// holds this call until the worker has asked Kafka (a second at most when Kafka is up).
async fn server_info(State(state): State<RestState>) -> ApiResult<axum::Json<Json>> {
    let mut cluster = state.kafka_cluster_id.clone();
    let known = tokio::time::timeout(REQUEST_TIMEOUT, cluster.wait_for(Option::is_some)).await;
    let id = match known {
        Ok(Ok(id)) => id.clone().flatten(),
        _ => {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Request timed out. The worker is currently awaiting startup: Kafka has not answered",
            ));
        }
    };
    Ok(axum::Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "commit": option_env!("SLUICE_GIT_COMMIT").unwrap_or("unknown"),
        "kafka_cluster_id": id,
    })))
}

/// KIP-1017: 200 once the worker has started, 503 before.
async fn health(State(state): State<RestState>) -> (StatusCode, axum::Json<Json>) {
    if state.startup.herder_now().is_some() {
        (
            StatusCode::OK,
            axum::Json(json!({
                "status": "healthy",
                "message": "Worker has completed startup and is ready to handle requests."
            })),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "starting", "message": "Worker is still starting up."})),
        )
    }
}

async fn metrics(State(state): State<RestState>) -> Response {
    match &state.metrics {
        Some(handle) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            )],
            handle.render(),
        )
            .into_response(),
        None => not_found().await.into_response(),
    }
}

/// Query parameters as Jersey reads them: the first value of each name.
type QueryParams = Query<Vec<(String, String)>>;

/// A boolean query parameter as Jersey reads one (`Boolean.valueOf`): `true` in any case is
/// true, any other value false; absent or empty, `default`. Never a 400.
fn flag(params: &[(String, String)], name: &str, default: bool) -> bool {
    match params.iter().find(|(k, _)| k == name) {
        Some((_, value)) if !value.is_empty() => value.eq_ignore_ascii_case("true"),
        _ => default,
    }
}

async fn list_plugins(
    State(state): State<RestState>,
    Query(params): QueryParams,
) -> axum::Json<Json> {
    let mut list: Vec<Json> = state
        .plugins
        .list()
        .into_iter()
        .map(|p| json!({"class": p.class, "type": p.connector_type, "version": p.version}))
        .collect();
    if !flag(&params, "connectorsOnly", true) {
        list.extend(validate::record_stage_plugins());
    }
    axum::Json(Json::Array(list))
}

async fn plugin_config(
    State(state): State<RestState>,
    Path(plugin): Path<String>,
) -> ApiResult<axum::Json<Json>> {
    if let Ok(found) = state.plugins.find(&plugin) {
        return Ok(axum::Json(validate::definitions(found.as_ref())));
    }
    validate::record_stage_definitions(&plugin)
        .map(axum::Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("Unknown plugin {plugin}.")))
}

async fn validate_config(
    State(state): State<RestState>,
    Path(plugin): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<axum::Json<Json>> {
    let body = json_body(body)?;
    let map = string_map(&body)?;
    let plugins = state.plugins;
    let found = plugins
        .find(&plugin)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if let Some(class) = map.get("connector.class") {
        let named = plugins.find(class).ok();
        if named.is_none_or(|p| p.class() != found.class()) {
            return Err(ApiError::bad_request(format!(
                "Included connector type {class} does not match request type {plugin}"
            )));
        }
    }
    Ok(axum::Json(validate::validate(
        found.as_ref(),
        map,
        &state.config_providers,
        &state.worker,
    )))
}

/// A request body of configuration keys and values (see [`json_map`]).
fn string_map(body: &Json) -> ApiResult<BTreeMap<String, String>> {
    let Json::Object(object) = body else {
        return Err(ApiError::bad_request(
            "Request body must be a JSON object of configuration keys and string values",
        ));
    };
    json_map(object).map_err(|e| ApiError::bad_request(e.to_string()))
}

async fn list_connectors(
    State(state): State<RestState>,
    Query(params): QueryParams,
) -> ApiResult<axum::Json<Json>> {
    // `expand` may repeat (`?expand=status&expand=info`); unknown values are ignored.
    let expand: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "expand")
        .map(|(_, v)| v.as_str())
        .collect();
    let herder = state.herder().await?;
    let names = herder.connectors();
    let with_status = expand.contains(&"status");
    let with_info = expand.contains(&"info");
    if !with_status && !with_info {
        return Ok(axum::Json(json!(names)));
    }
    let mut out = Map::new();
    for name in names {
        let mut item = Map::new();
        if with_status && let Ok(status) = herder.status(&name) {
            item.insert("status".into(), status_json(&status));
        }
        if with_info && let Ok(info) = herder.info(&name) {
            item.insert("info".into(), info_json(&state, &info));
        }
        out.insert(name, Json::Object(item));
    }
    Ok(axum::Json(Json::Object(out)))
}

/// Keys whose values are secrets: the plugin's PASSWORD keys and any `*password` key.
fn is_secret(state: &RestState, config: &BTreeMap<String, String>, key: &str) -> bool {
    if key.ends_with("password") || key.ends_with(".jaas.config") {
        return true;
    }
    config
        .get("connector.class")
        .and_then(|class| state.plugins.find(class).ok())
        .and_then(|plugin| plugin.config_def().key(key).map(|k| k.ty))
        == Some(crate::config::ConfigType::Password)
}

/// `config` for a response: secrets read `[hidden]`, except a config provider reference, which
/// is shown as written (`${file:…:password}`), as Connect shows it.
fn masked(state: &RestState, config: &BTreeMap<String, String>) -> Json {
    let mut out = Map::new();
    for (k, v) in config {
        let value = if is_secret(state, config, k) && !ConfigProviders::has_reference(v) {
            Password::HIDDEN.to_string()
        } else {
            v.clone()
        };
        out.insert(k.clone(), Json::String(value));
    }
    Json::Object(out)
}

fn type_name(t: ConnectorType) -> &'static str {
    t.as_str()
}

fn info_json(state: &RestState, info: &ConnectorInfo) -> Json {
    json!({
        "name": info.name,
        "config": masked(state, &info.config),
        "tasks": info.tasks.iter().map(|t| json!({"connector": info.name, "task": t})).collect::<Vec<_>>(),
        "type": type_name(info.connector_type),
    })
}

fn state_json(state: &StateInfo) -> Map<String, Json> {
    let mut out = Map::new();
    out.insert("state".into(), json!(state.state.as_str()));
    out.insert("worker_id".into(), json!(state.worker_id));
    if let Some(trace) = state.trace.as_ref().filter(|t| !t.is_empty()) {
        out.insert("trace".into(), json!(trace));
    }
    out
}

fn task_state_json(id: u32, state: &StateInfo) -> Json {
    let mut out = Map::new();
    out.insert("id".into(), json!(id));
    out.extend(state_json(state));
    Json::Object(out)
}

fn status_json(status: &ConnectorStatus) -> Json {
    json!({
        "name": status.name,
        "connector": Json::Object(state_json(&status.connector)),
        "tasks": status.tasks.iter().map(|(id, s)| task_state_json(*id, s)).collect::<Vec<_>>(),
        "type": type_name(status.connector_type),
    })
}

/// Replaces `[hidden]` sent back for a secret with the stored value.
fn unmask(
    state: &RestState,
    stored: Option<&BTreeMap<String, String>>,
    config: &mut BTreeMap<String, String>,
) {
    let Some(stored) = stored else { return };
    let keys: Vec<String> = config
        .iter()
        .filter(|(k, v)| v.as_str() == Password::HIDDEN && is_secret(state, config, k))
        .map(|(k, _)| k.clone())
        .collect();
    for key in keys {
        if let Some(value) = stored.get(&key) {
            config.insert(key, value.clone());
        }
    }
}

async fn create_connector(
    State(state): State<RestState>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = json_body(body)?;
    let Json::Object(object) = &body else {
        return Err(ApiError::bad_request(
            "Request body must be a JSON object {\"name\":…,\"config\":{…}}",
        ));
    };
    // Connect reads it case-insensitively (`InitialState.forValue` upper-cases it).
    let initial = match object
        .get("initial_state")
        .and_then(Json::as_str)
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("RUNNING") => TargetState::Started,
        Some("PAUSED") => TargetState::Paused,
        Some("STOPPED") => TargetState::Stopped,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid initial state {other}; valid states are RUNNING, PAUSED and STOPPED"
            )));
        }
    };
    if !object.contains_key("config") {
        return Err(ApiError::bad_request(
            "Request body must hold the connector's configuration under \"config\"",
        ));
    }
    let mut body = body.clone();
    if let Some(object) = body.as_object_mut() {
        object.remove("initial_state");
    }
    let config =
        ConnectorConfig::from_json(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let info = state.herder().await?.create(config, initial).await?;
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!(
        "{}/connectors/{}",
        state.advertised_url, info.name
    )) {
        headers.insert(header::LOCATION, location);
    }
    Ok((
        StatusCode::CREATED,
        headers,
        axum::Json(info_json(&state, &info)),
    )
        .into_response())
}

async fn connector_info(
    State(state): State<RestState>,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<Json>> {
    let info = state.herder().await?.info(&name)?;
    Ok(axum::Json(info_json(&state, &info)))
}

async fn delete_connector(
    State(state): State<RestState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    state.herder().await?.delete(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn connector_config(
    State(state): State<RestState>,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<Json>> {
    let info = state.herder().await?.info(&name)?;
    Ok(axum::Json(masked(&state, &info.config)))
}

async fn put_connector_config(
    State(state): State<RestState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = json_body(body)?;
    let mut map = string_map(&body)?;
    let stored = state.herder().await?.info(&name).ok().map(|i| i.config);
    unmask(&state, stored.as_ref(), &mut map);
    let config = ConnectorConfig::from_map(Some(name), map)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let (created, info) = state.herder().await?.put(config).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(info_json(&state, &info))).into_response())
}

async fn patch_connector_config(
    State(state): State<RestState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<axum::Json<Json>> {
    let body = json_body(body)?;
    let Json::Object(patch) = body else {
        return Err(ApiError::bad_request(
            "Request body must be a JSON object of configuration keys",
        ));
    };
    let mut map = state.herder().await?.info(&name)?.config;
    for (key, value) in patch {
        match value {
            Json::Null => {
                map.remove(&key);
            }
            Json::String(s) if s == Password::HIDDEN => {}
            Json::String(s) => {
                map.insert(key, s);
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "Configuration value of {key} must be a string or null, not {other}"
                )));
            }
        }
    }
    let config = ConnectorConfig::from_map(Some(name), map)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let (_, info) = state.herder().await?.put(config).await?;
    Ok(axum::Json(info_json(&state, &info)))
}

async fn connector_status(
    State(state): State<RestState>,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<Json>> {
    Ok(axum::Json(status_json(
        &state.herder().await?.status(&name)?,
    )))
}

async fn task_configs(
    State(state): State<RestState>,
    Path(name): Path<String>,
) -> ApiResult<axum::Json<Json>> {
    let tasks: Vec<TaskConfig> = state.herder().await?.task_configs(&name)?;
    Ok(axum::Json(Json::Array(
        tasks
            .iter()
            .enumerate()
            .map(|(id, config)| {
                json!({"id": {"connector": name, "task": id}, "config": masked(&state, config)})
            })
            .collect(),
    )))
}

async fn task_status(
    State(state): State<RestState>,
    Path((name, task)): Path<(String, String)>,
) -> ApiResult<axum::Json<Json>> {
    let status = state.herder().await?.status(&name)?;
    let id: u32 = task.parse().map_err(|_| task_not_found(&name, &task))?;
    let (_, task_state) = status
        .tasks
        .iter()
        .find(|(t, _)| *t == id)
        .ok_or_else(|| task_not_found(&name, &task))?;
    Ok(axum::Json(task_state_json(id, task_state)))
}

fn task_not_found(name: &str, task: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("No status found for task {name}-{task}"),
    )
}

async fn restart_task(
    State(state): State<RestState>,
    Path((name, task)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id: u32 = task.parse().map_err(|_| task_not_found(&name, &task))?;
    state.herder().await?.restart_task(&name, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn restart_connector(
    State(state): State<RestState>,
    Path(name): Path<String>,
    Query(params): QueryParams,
) -> ApiResult<Response> {
    let include_tasks = flag(&params, "includeTasks", false);
    let only_failed = flag(&params, "onlyFailed", false);
    let status = state
        .herder()
        .await?
        .restart(&name, include_tasks, only_failed)
        .await?;
    if !include_tasks && !only_failed {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok((StatusCode::ACCEPTED, axum::Json(status_json(&status))).into_response())
}

/// `PUT /connectors/{name}/pause|resume|stop`: the connector's target state, then Connect's
/// status code for it (202 Accepted for pause and resume, 204 No Content for stop).
async fn set_target(
    state: &RestState,
    name: &str,
    target: TargetState,
    done: StatusCode,
) -> ApiResult<StatusCode> {
    state.herder().await?.set_target(name, target).await?;
    Ok(done)
}

async fn pause(State(state): State<RestState>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    set_target(&state, &name, TargetState::Paused, StatusCode::ACCEPTED).await
}

async fn resume(State(state): State<RestState>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    set_target(&state, &name, TargetState::Started, StatusCode::ACCEPTED).await
}

async fn stop(State(state): State<RestState>, Path(name): Path<String>) -> ApiResult<StatusCode> {
    set_target(&state, &name, TargetState::Stopped, StatusCode::NO_CONTENT).await
}
