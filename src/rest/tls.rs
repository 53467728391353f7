//! TLS for the REST API's `https://` listeners, from Connect's `ssl.*` settings
//! ([`crate::config::WorkerConfig::rest_ssl`]), served by rustls:
//!
//! - the key and certificate chain from a keystore: `ssl.keystore.location` of type `PKCS12`
//!   (with `ssl.keystore.password`) or `PEM` (a file holding the private key and the chain), or
//!   inline PEM in `ssl.keystore.key` / `ssl.keystore.certificate.chain` (type `PEM`);
//! - client certificates per `ssl.client.auth` (`none`, `requested`, `required`), checked
//!   against `ssl.truststore.location` (PKCS12 or PEM) or inline `ssl.truststore.certificates`;
//! - `ssl.enabled.protocols` limited to TLSv1.2 and TLSv1.3 (rustls speaks nothing older).
//!
//! Java's own `JKS`/`JCEKS` formats are not read: such a keystore fails at start with the
//! `keytool` command that converts it. A keystore's type is told by its content (Java 9+
//! `keytool` reads either kind whatever the declared type), so the default type `JKS` with a
//! PKCS#12 file works, as it does in Connect.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::config::ConfigError;
use crate::error::{Error, ErrorKind, Result};

/// A key and its certificate chain.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// The rustls server configuration for the HTTPS listeners.
pub(super) fn server_config(ssl: &BTreeMap<String, String>) -> Result<rustls::ServerConfig> {
    let get = |key: &str| ssl.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions = protocol_versions(get("ssl.enabled.protocols"))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| Error::with_source(ErrorKind::Config, "unusable TLS protocol versions", e))?;
    let client_auth = get("ssl.client.auth").unwrap_or("none");
    let builder = match client_auth.to_ascii_lowercase().as_str() {
        "none" => builder.with_no_client_auth(),
        mode @ ("requested" | "required") => {
            let roots = trust_store(ssl)?.ok_or_else(|| {
                Error::config(format!(
                    "ssl.client.auth={mode} needs a truststore (ssl.truststore.location or ssl.truststore.certificates) to check client certificates against"
                ))
            })?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if mode == "requested" {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| Error::with_source(ErrorKind::Config, "unusable ssl.truststore", e))?;
            builder.with_client_cert_verifier(verifier)
        }
        other => {
            return Err(ConfigError::invalid(
                "ssl.client.auth",
                other,
                "one of none, requested, required",
            )
            .into());
        }
    };
    let identity = key_store(ssl)?;
    let mut config = builder
        .with_single_cert(identity.chain, identity.key)
        .map_err(|e| {
            Error::with_source(
                ErrorKind::Config,
                "the keystore's key does not fit its certificate",
                e,
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

fn protocol_versions(
    enabled: Option<&str>,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>> {
    let Some(enabled) = enabled else {
        return Ok(vec![&rustls::version::TLS13, &rustls::version::TLS12]);
    };
    let mut versions = Vec::new();
    for name in enabled.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match name {
            "TLSv1.3" => versions.push(&rustls::version::TLS13),
            "TLSv1.2" => versions.push(&rustls::version::TLS12),
            // Older protocols are listed by many configs; rustls never speaks them.
            "TLSv1.1" | "TLSv1" | "SSLv3" => {}
            other => {
                return Err(ConfigError::invalid(
                    "ssl.enabled.protocols",
                    other,
                    "TLSv1.2 or TLSv1.3",
                )
                .into());
            }
        }
    }
    if versions.is_empty() {
        return Err(Error::config(
            "ssl.enabled.protocols enables neither TLSv1.2 nor TLSv1.3",
        ));
    }
    Ok(versions)
}

/// What a keystore or truststore file holds, told by its first bytes.
#[derive(Debug, PartialEq, Eq)]
enum StoreFormat {
    Pkcs12,
    Pem,
    Jks,
}

fn format_of(bytes: &[u8]) -> StoreFormat {
    match bytes {
        [0xfe, 0xed, 0xfe, 0xed, ..] | [0xce, 0xce, 0xce, 0xce, ..] => StoreFormat::Jks,
        [0x30, ..] => StoreFormat::Pkcs12,
        _ => StoreFormat::Pem,
    }
}

fn read_store(key: &str, path: &str) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Error::with_source(ErrorKind::Config, format!("cannot read {key} {path}"), e))
}

/// A PKCS12 `store` ("keystore" or "truststore") opened with its `ssl.<store>.password`.
fn open_pkcs12(
    ssl: &BTreeMap<String, String>,
    store: &str,
    location: &str,
    bytes: &[u8],
    policy: p12_keystore::Pkcs12ImportPolicy,
) -> Result<p12_keystore::KeyStore> {
    let password_key = format!("ssl.{store}.password");
    let password = ssl.get(&password_key).map_or("", String::as_str);
    p12_keystore::KeyStore::from_pkcs12(bytes, password, policy).map_err(|e| {
        Error::with_source(
            ErrorKind::Config,
            format!("cannot open the PKCS12 {store} {location} (is {password_key} right?)"),
            e,
        )
    })
}

fn jks_error(key: &str, path: &str, store_type_key: &str) -> Error {
    Error::config(format!(
        "{key} {path} is a Java KeyStore (JKS), which Sluice does not read; convert it to PKCS12 and set {store_type_key}=PKCS12: \
         keytool -importkeystore -srckeystore {path} -srcstoretype JKS -destkeystore {path}.p12 -deststoretype PKCS12"
    ))
}

/// The server's key and chain.
fn key_store(ssl: &BTreeMap<String, String>) -> Result<Identity> {
    let get = |key: &str| ssl.get(key).filter(|v| !v.trim().is_empty());
    if let (Some(chain), Some(key)) = (
        get("ssl.keystore.certificate.chain"),
        get("ssl.keystore.key"),
    ) {
        return pem_identity(chain.as_bytes(), key.as_bytes(), "ssl.keystore.key");
    }
    let location = get("ssl.keystore.location").ok_or_else(|| {
        Error::config(
            "an https listener needs ssl.keystore.location (or ssl.keystore.key and ssl.keystore.certificate.chain)",
        )
    })?;
    let bytes = read_store("ssl.keystore.location", location)?;
    match format_of(&bytes) {
        StoreFormat::Jks => Err(jks_error(
            "ssl.keystore.location",
            location,
            "ssl.keystore.type",
        )),
        StoreFormat::Pem => pem_identity(&bytes, &bytes, "ssl.keystore.location"),
        StoreFormat::Pkcs12 => {
            let store = open_pkcs12(
                ssl,
                "keystore",
                location,
                &bytes,
                p12_keystore::Pkcs12ImportPolicy::Relaxed,
            )?;
            let (_, chain) = store.private_key_chain().ok_or_else(|| {
                Error::config(format!("the keystore {location} holds no private key"))
            })?;
            if chain.certs().is_empty() {
                return Err(Error::config(format!(
                    "the keystore {location} holds a key without its certificate"
                )));
            }
            Ok(Identity {
                chain: chain
                    .certs()
                    .iter()
                    .map(|c| CertificateDer::from(c.as_der().to_vec()))
                    .collect(),
                key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec())),
            })
        }
    }
}

fn pem_identity(chain: &[u8], key: &[u8], key_name: &str) -> Result<Identity> {
    let chain = pem_certificates(chain, key_name)?;
    if chain.is_empty() {
        return Err(Error::config(format!("{key_name}: no certificate found")));
    }
    if String::from_utf8_lossy(key).contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(Error::config(format!(
            "{key_name}: the private key is encrypted; Sluice reads unencrypted PEM keys (PKCS#8, PKCS#1 or SEC1): openssl pkcs8 -topk8 -nocrypt -in key.pem -out key-plain.pem"
        )));
    }
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| {
        Error::with_source(
            ErrorKind::Config,
            format!("{key_name}: no usable PEM private key"),
            e,
        )
    })?;
    Ok(Identity { chain, key })
}

fn pem_certificates(bytes: &[u8], key_name: &str) -> Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_slice_iter(bytes)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::with_source(
                ErrorKind::Config,
                format!("{key_name}: unreadable PEM certificate"),
                e,
            )
        })
}

/// The certificates client certificates are checked against; `None` when none is configured.
fn trust_store(ssl: &BTreeMap<String, String>) -> Result<Option<RootCertStore>> {
    let get = |key: &str| ssl.get(key).filter(|v| !v.trim().is_empty());
    let certificates = if let Some(pem) = get("ssl.truststore.certificates") {
        pem_certificates(pem.as_bytes(), "ssl.truststore.certificates")?
    } else if let Some(location) = get("ssl.truststore.location") {
        let bytes = read_store("ssl.truststore.location", location)?;
        match format_of(&bytes) {
            StoreFormat::Jks => {
                return Err(jks_error(
                    "ssl.truststore.location",
                    location,
                    "ssl.truststore.type",
                ));
            }
            StoreFormat::Pem => pem_certificates(&bytes, "ssl.truststore.location")?,
            StoreFormat::Pkcs12 => {
                let store = open_pkcs12(
                    ssl,
                    "truststore",
                    location,
                    &bytes,
                    p12_keystore::Pkcs12ImportPolicy::Raw,
                )?;
                store
                    .entries()
                    .flat_map(|(_, entry)| match entry {
                        p12_keystore::KeyStoreEntry::Certificate(cert) => {
                            vec![CertificateDer::from(cert.as_der().to_vec())]
                        }
                        p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => chain
                            .certs()
                            .iter()
                            .map(|c| CertificateDer::from(c.as_der().to_vec()))
                            .collect(),
                        p12_keystore::KeyStoreEntry::Secret(_) => Vec::new(),
                    })
                    .collect()
            }
        }
    } else {
        return Ok(None);
    };
    let mut roots = RootCertStore::empty();
    for certificate in certificates {
        roots.add(certificate).map_err(|e| {
            Error::with_source(
                ErrorKind::Config,
                "the truststore holds an unusable certificate",
                e,
            )
        })?;
    }
    if roots.is_empty() {
        return Err(Error::config("the truststore holds no certificate"));
    }
    Ok(Some(roots))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::props;

    #[test]
    fn a_jks_keystore_fails_with_the_keytool_command() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rest.jks");
        std::fs::write(&path, [0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]).unwrap();
        let path = path.display().to_string();
        let error = server_config(&props(&[("ssl.keystore.location", &path)]))
            .err()
            .unwrap()
            .trace();
        assert!(error.contains("Java KeyStore (JKS)"), "{error}");
        assert!(
            error.contains(&format!(
                "keytool -importkeystore -srckeystore {path} -srcstoretype JKS -destkeystore {path}.p12 -deststoretype PKCS12"
            )),
            "{error}"
        );
    }

    #[test]
    fn settings_are_checked() {
        let missing = server_config(&props(&[])).err().unwrap().trace();
        assert!(missing.contains("ssl.keystore.location"), "{missing}");
        let auth = server_config(&props(&[("ssl.client.auth", "sometimes")]))
            .err()
            .unwrap()
            .trace();
        assert!(auth.contains("ssl.client.auth"), "{auth}");
        let trust = server_config(&props(&[("ssl.client.auth", "required")]))
            .err()
            .unwrap()
            .trace();
        assert!(trust.contains("needs a truststore"), "{trust}");
        assert!(protocol_versions(Some("TLSv1.1")).is_err());
        assert_eq!(protocol_versions(Some("TLSv1.2,TLSv1.1")).unwrap().len(), 1);
    }

    #[test]
    fn formats_are_told_by_content() {
        assert_eq!(format_of(b"-----BEGIN CERTIFICATE-----"), StoreFormat::Pem);
        assert_eq!(format_of(&[0x30, 0x82]), StoreFormat::Pkcs12);
        assert_eq!(format_of(&[0xce, 0xce, 0xce, 0xce]), StoreFormat::Jks);
    }
}
