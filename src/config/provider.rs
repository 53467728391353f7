//! Config providers, as Kafka declares and resolves them (`ConfigProvider`,
//! `ConfigTransformer`): a worker declares
//!
//! ```properties
//! config.providers=file,dir,env
//! config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider
//! config.providers.file.param.allowed.paths=/etc/kafka/secrets
//! config.providers.dir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider
//! config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
//! config.providers.env.param.allowlist.pattern=^DB_.*
//! ```
//!
//! and any worker or connector value may hold references `${file:/etc/kafka/secrets/db.properties:password}`
//! (a key of a `.properties` file), `${dir:/etc/kafka/secrets:db-password}` (a file's whole
//! content) or `${env:DB_PASSWORD}` (an environment variable), several per value.
//!
//! Worker properties are resolved once, when they are read. Connector configurations are stored
//! and returned raw (`GET /connectors/{name}/config` shows the `${…}` text); they are resolved
//! each time a connector is validated, planned or its task started, and the task configurations
//! a connector plans get the raw text back for every key whose connector value held a
//! reference ([`ConfigProviders::unresolve`]), so no resolved secret is ever stored.
//!
//! Unlike Kafka, which leaves a reference it cannot resolve in place as literal text (and so
//! hands `${file:…}` to the database as a password), an unknown provider, an unreadable file or
//! a missing key is an error naming the configuration key and the reference — never a value.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::def::ConfigError;

/// Kafka's `ConfigTransformer.DEFAULT_PATTERN`: `${provider:[path:]key}`. Lazy, so the first
/// colon ends the provider and the second the path.
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}").expect("reference pattern")
});

const PREFIX: &str = "config.providers";
const FILE_CLASS: &str = "org.apache.kafka.common.config.provider.FileConfigProvider";
const DIRECTORY_CLASS: &str = "org.apache.kafka.common.config.provider.DirectoryConfigProvider";
const ENV_CLASS: &str = "org.apache.kafka.common.config.provider.EnvVarConfigProvider";

/// One declared provider.
#[derive(Debug, Clone)]
enum Provider {
    /// `${name:path:key}`: `key` of the `.properties` file at `path`.
    File { allowed: AllowedPaths },
    /// `${name:dir:file}`: the whole content of `dir/file`.
    Directory { allowed: AllowedPaths },
    /// `${name:VAR}`: an environment variable whose name matches the allowlist.
    Env { allowlist: Regex },
}

/// `allowed.paths` (KIP-993): absolute paths under which files may be read; empty allows all.
#[derive(Debug, Clone, Default)]
struct AllowedPaths(Vec<PathBuf>);

impl AllowedPaths {
    fn parse(param: Option<&String>, key: &str) -> Result<Self, ConfigError> {
        let Some(list) = param.filter(|v| !v.trim().is_empty()) else {
            return Ok(AllowedPaths::default());
        };
        let mut paths = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let path = Path::new(item);
            if !path.is_absolute() {
                return Err(ConfigError::invalid(
                    key,
                    list.clone(),
                    format!("Path {item} is not absolute"),
                ));
            }
            if !path.exists() {
                return Err(ConfigError::invalid(
                    key,
                    list.clone(),
                    format!("Path {item} does not exist"),
                ));
            }
            paths.push(normalize(path));
        }
        Ok(AllowedPaths(paths))
    }

    fn allows(&self, path: &Path) -> bool {
        let path = normalize(path);
        self.0.is_empty() || self.0.iter().any(|allowed| path.starts_with(allowed))
    }
}

/// `path` with `.` and `..` folded away lexically (as Java's `Path.normalize`).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The providers a worker declares (`config.providers`).
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfigProviders {
    providers: BTreeMap<String, Provider>,
}

/// Why a reference could not be resolved (never holds a value).
type Unresolved = String;

impl ConfigProviders {
    /// The providers declared in worker properties: `config.providers`, and for each name its
    /// `config.providers.<name>.class` and `config.providers.<name>.param.*`.
    pub(crate) fn from_worker(raw: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let mut providers = BTreeMap::new();
        let names = raw.get(PREFIX).map(String::as_str).unwrap_or("");
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let class_key = format!("{PREFIX}.{name}.class");
            let class = raw
                .get(&class_key)
                .map(|c| c.trim())
                .filter(|c| !c.is_empty())
                .ok_or_else(|| ConfigError::missing(class_key.clone()))?;
            let param = |key: &str| raw.get(&format!("{PREFIX}.{name}.param.{key}"));
            let allowed_key = format!("{PREFIX}.{name}.param.allowed.paths");
            let provider = match simple_name(class) {
                "FileConfigProvider" => Provider::File {
                    allowed: AllowedPaths::parse(param("allowed.paths"), &allowed_key)?,
                },
                "DirectoryConfigProvider" => Provider::Directory {
                    allowed: AllowedPaths::parse(param("allowed.paths"), &allowed_key)?,
                },
                "EnvVarConfigProvider" => {
                    let key = format!("{PREFIX}.{name}.param.allowlist.pattern");
                    let pattern = param("allowlist.pattern").map_or(".*", String::as_str);
                    // Java's `matches()`: the whole name must match.
                    let allowlist = super::whole_regex(pattern, false).map_err(|e| {
                        ConfigError::invalid(key, pattern, format!("not a valid regex: {e}"))
                    })?;
                    Provider::Env { allowlist }
                }
                _ => {
                    return Err(ConfigError::invalid(
                        class_key,
                        class,
                        format!("Sluice provides {FILE_CLASS}, {DIRECTORY_CLASS} and {ENV_CLASS}"),
                    ));
                }
            };
            providers.insert(name.to_string(), provider);
        }
        Ok(ConfigProviders { providers })
    }

    /// `config` with every reference resolved ([`ConfigProviders::resolve`]).
    pub(crate) fn resolve_connector(
        &self,
        config: &super::ConnectorConfig,
    ) -> Result<super::ConnectorConfig, ConfigError> {
        Ok(super::ConnectorConfig {
            name: config.name.clone(),
            config: self.resolve(&config.config)?,
        })
    }

    /// Whether `value` holds a `${provider:…}` reference.
    pub(crate) fn has_reference(value: &str) -> bool {
        value.contains("${") && REFERENCE.is_match(value)
    }

    /// `config` with every reference replaced by its value. The first reference that cannot be
    /// resolved is an error naming the key and the reference.
    pub(crate) fn resolve(
        &self,
        config: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, ConfigError> {
        let (resolved, mut errors) = self.resolve_all(config);
        match errors.pop_first() {
            Some((key, message)) => Err(ConfigError::rule(key, message)),
            None => Ok(resolved),
        }
    }

    /// `config` resolved as far as it can be, and why each key that could not be resolved
    /// failed (such keys keep their raw text).
    pub(crate) fn resolve_all(
        &self,
        config: &BTreeMap<String, String>,
    ) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let mut files: BTreeMap<String, Result<BTreeMap<String, String>, Unresolved>> =
            BTreeMap::new();
        let mut errors = BTreeMap::new();
        let resolved = config
            .iter()
            .map(|(key, value)| {
                if !Self::has_reference(value) || key.starts_with(PREFIX) {
                    return (key.clone(), value.clone());
                }
                match self.substitute(value, &mut files) {
                    Ok(v) => (key.clone(), v),
                    Err(why) => {
                        errors.insert(key.clone(), why);
                        (key.clone(), value.clone())
                    }
                }
            })
            .collect();
        (resolved, errors)
    }

    fn substitute(
        &self,
        value: &str,
        files: &mut BTreeMap<String, Result<BTreeMap<String, String>, Unresolved>>,
    ) -> Result<String, Unresolved> {
        let mut out = String::with_capacity(value.len());
        let mut last = 0;
        for captures in REFERENCE.captures_iter(value) {
            let whole = captures.get(0).expect("match");
            let reference = whole.as_str();
            let name = &captures[1];
            let path = captures.get(3).map_or("", |m| m.as_str());
            let key = &captures[4];
            let provider = self.providers.get(name).ok_or_else(|| {
                format!(
                    "the reference {reference} names config provider '{name}', which the worker does not declare (config.providers)"
                )
            })?;
            let found = match provider {
                Provider::File { allowed } => {
                    let data = files
                        .entry(path.to_string())
                        .or_insert_with(|| read_properties(path, allowed));
                    match data {
                        Ok(data) => data.get(key).cloned().ok_or_else(|| {
                            format!(
                                "the reference {reference} cannot be resolved: {path} has no key {key}"
                            )
                        })?,
                        Err(why) => {
                            return Err(format!(
                                "the reference {reference} cannot be resolved: {why}"
                            ));
                        }
                    }
                }
                Provider::Directory { allowed } => read_directory_file(path, key, allowed)
                    .map_err(|why| {
                        format!("the reference {reference} cannot be resolved: {why}")
                    })?,
                Provider::Env { allowlist } => {
                    if !path.is_empty() {
                        return Err(format!(
                            "the reference {reference} cannot be resolved: Path is not supported for EnvVarConfigProvider, invalid value '{path}'"
                        ));
                    }
                    if !allowlist.is_match(key) {
                        return Err(format!(
                            "the reference {reference} cannot be resolved: {key} does not match the provider's allowlist.pattern"
                        ));
                    }
                    std::env::var(key).map_err(|_| {
                        format!(
                            "the reference {reference} cannot be resolved: environment variable {key} is not set"
                        )
                    })?
                }
            };
            out.push_str(&value[last..whole.start()]);
            out.push_str(&found);
            last = whole.end();
        }
        out.push_str(&value[last..]);
        Ok(out)
    }

    /// Puts the raw text back into a task configuration planned from a resolved connector
    /// configuration: every key whose raw connector value holds a reference gets that raw value
    /// (Kafka's `AbstractHerder.reverseTransform`), so resolved secrets are never stored.
    pub(crate) fn unresolve(raw: &BTreeMap<String, String>, task: &mut BTreeMap<String, String>) {
        for (key, value) in task.iter_mut() {
            if let Some(raw_value) = raw.get(key).filter(|v| Self::has_reference(v)) {
                value.clone_from(raw_value);
            }
        }
    }
}

/// A validation error about a resolved value, told with the raw `${…}` text instead wherever
/// the key's raw value held a reference (so a resolved secret never reaches a message).
pub(crate) fn unresolve_error(
    raw: &BTreeMap<String, String>,
    mut error: ConfigError,
) -> ConfigError {
    if let (Some(raw_value), super::def::ConfigErrorKind::Invalid { value, .. }) =
        (raw.get(&error.key), &mut error.kind)
        && ConfigProviders::has_reference(raw_value)
    {
        value.clone_from(raw_value);
    }
    error
}

/// `org.apache.kafka…FileConfigProvider` → `FileConfigProvider`.
fn simple_name(class: &str) -> &str {
    class.rsplit('.').next().unwrap_or(class)
}

fn read_properties(path: &str, allowed: &AllowedPaths) -> Result<BTreeMap<String, String>, String> {
    if path.is_empty() {
        return Err("FileConfigProvider needs a file path".into());
    }
    if !allowed.allows(Path::new(path)) {
        return Err(format!("{path} is not under the provider's allowed.paths"));
    }
    super::properties::read(Path::new(path))
        .map_err(|_| format!("Could not read properties from file {path}"))
}

fn read_directory_file(dir: &str, file: &str, allowed: &AllowedPaths) -> Result<String, String> {
    let dir_path = Path::new(dir);
    if dir.is_empty() || !dir_path.is_dir() {
        return Err(format!("{dir} is not a directory"));
    }
    if file.contains('/') || file == ".." || file == "." {
        return Err(format!("{file} is not a file name"));
    }
    let path = dir_path.join(file);
    if !allowed.allows(&path) {
        return Err(format!("{dir} is not under the provider's allowed.paths"));
    }
    if !path.is_file() {
        return Err(format!("{dir} has no file {file}"));
    }
    std::fs::read_to_string(&path).map_err(|_| format!("Could not read file {dir}/{file}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::props;

    fn providers(extra: &[(&str, &str)]) -> ConfigProviders {
        let mut raw = props(&[
            ("config.providers", "file,dir,env"),
            ("config.providers.file.class", FILE_CLASS),
            ("config.providers.dir.class", DIRECTORY_CLASS),
            ("config.providers.env.class", ENV_CLASS),
        ]);
        raw.extend(props(extra));
        ConfigProviders::from_worker(&raw).unwrap()
    }

    #[test]
    fn resolves_files_directories_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("db.properties");
        std::fs::write(&file, "user=app\npassword=s3cr=t\n").unwrap();
        std::fs::write(dir.path().join("token"), "abc\n").unwrap();
        // Setting a variable needs `unsafe` (edition 2024): read one every process has.
        let var = "PATH";
        let path = std::env::var(var).unwrap();
        let p = providers(&[]);
        let file = file.display().to_string();
        let dir = dir.path().display().to_string();
        let resolved = p
            .resolve(&props(&[
                ("connection.password", &format!("${{file:{file}:password}}")),
                (
                    "url",
                    &format!("jdbc:mysql://h/db?user=${{file:{file}:user}}&x=1"),
                ),
                ("token", &format!("${{dir:{dir}:token}}")),
                ("env", &format!("${{env:{var}}}")),
                ("env2", &format!("${{env::{var}}}")),
                ("plain", "${topic}"),
            ]))
            .unwrap();
        assert_eq!(resolved["connection.password"], "s3cr=t");
        assert_eq!(resolved["url"], "jdbc:mysql://h/db?user=app&x=1");
        assert_eq!(
            resolved["token"], "abc\n",
            "directory values are not trimmed"
        );
        assert_eq!(resolved["env"], path);
        assert_eq!(resolved["env2"], path);
        assert_eq!(resolved["plain"], "${topic}", "no colon: not a reference");
    }

    #[test]
    fn errors_name_the_key_and_reference_never_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("db.properties");
        std::fs::write(&file, "password=topsecret\n").unwrap();
        let file = file.display().to_string();
        let p = providers(&[("config.providers.env.param.allowlist.pattern", "^DB_.*")]);
        let cases = [
            (format!("${{vault:{file}:password}}"), "does not declare"),
            (format!("${{file:{file}:missing}}"), "has no key missing"),
            (
                "${file:/no/such/file.properties:password}".into(),
                "Could not read properties from file /no/such/file.properties",
            ),
            ("${env:HOME}".into(), "allowlist.pattern"),
            (
                "${env:some/path:DB_X}".into(),
                "Path is not supported for EnvVarConfigProvider, invalid value 'some/path'",
            ),
        ];
        for (reference, expected) in cases {
            let error = p
                .resolve(&props(&[("connection.password", &reference)]))
                .unwrap_err();
            let text = error.to_string();
            assert_eq!(error.key, "connection.password");
            assert!(text.contains(&reference), "{text}");
            assert!(text.contains(expected), "{text}");
            assert!(!text.contains("topsecret"), "{text}");
        }
    }

    #[test]
    fn allowed_paths_are_checked() {
        let allowed = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let outside = other.path().join("db.properties");
        std::fs::write(&outside, "password=x\n").unwrap();
        let inside = allowed.path().join("db.properties");
        std::fs::write(&inside, "password=y\n").unwrap();
        let p = providers(&[(
            "config.providers.file.param.allowed.paths",
            &allowed.path().display().to_string(),
        )]);
        let get = |path: &Path| {
            p.resolve(&props(&[(
                "k",
                &format!("${{file:{}:password}}", path.display()),
            )]))
        };
        assert_eq!(get(&inside).unwrap()["k"], "y");
        let sneaky = allowed
            .path()
            .join("../")
            .join(other.path().file_name().unwrap())
            .join("db.properties");
        assert!(
            get(&sneaky)
                .unwrap_err()
                .to_string()
                .contains("allowed.paths")
        );
        assert!(
            get(&outside)
                .unwrap_err()
                .to_string()
                .contains("allowed.paths")
        );

        let relative = ConfigProviders::from_worker(&props(&[
            ("config.providers", "file"),
            ("config.providers.file.class", "FileConfigProvider"),
            ("config.providers.file.param.allowed.paths", "relative/dir"),
        ]))
        .unwrap_err();
        assert_eq!(relative.key, "config.providers.file.param.allowed.paths");
        assert!(
            relative
                .to_string()
                .contains("Path relative/dir is not absolute")
        );
    }

    #[test]
    fn declarations_are_checked() {
        let missing =
            ConfigProviders::from_worker(&props(&[("config.providers", "file")])).unwrap_err();
        assert_eq!(missing.key, "config.providers.file.class");
        let unknown = ConfigProviders::from_worker(&props(&[
            ("config.providers", "vault"),
            (
                "config.providers.vault.class",
                "com.example.VaultConfigProvider",
            ),
        ]))
        .unwrap_err();
        assert_eq!(unknown.key, "config.providers.vault.class");
    }

    #[test]
    fn the_first_colon_ends_the_provider_and_the_second_the_path() {
        let captures = REFERENCE.captures("${file:C:/x/y.properties:key}").unwrap();
        assert_eq!(&captures[1], "file");
        assert_eq!(captures.get(3).unwrap().as_str(), "C");
        assert_eq!(&captures[4], "/x/y.properties:key");
    }

    #[test]
    fn task_configs_get_the_raw_text_back() {
        let raw = props(&[("connection.password", "${file:/s:pw}"), ("tables", "a")]);
        let mut task = props(&[("connection.password", "resolved"), ("tables", "a,b")]);
        ConfigProviders::unresolve(&raw, &mut task);
        assert_eq!(task["connection.password"], "${file:/s:pw}");
        assert_eq!(task["tables"], "a,b");
    }
}
