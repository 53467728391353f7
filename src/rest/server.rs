//! Serving the REST API on every listener Connect's settings name: `listeners` (or
//! `rest.host.name`/`rest.port`), plain HTTP and HTTPS side by side, behind the security the
//! worker configures — basic authentication ([`super::auth`]) and CORS
//! (`access.control.allow.origin` / `access.control.allow.methods`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, Method};
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::auth::Credentials;
use crate::config::worker::Protocol;
use crate::config::{ConfigError, WorkerConfig};
use crate::error::{Error, ErrorKind, Result};

/// A bound listener, ready to serve.
pub(crate) struct Bound {
    pub(crate) protocol: Protocol,
    pub(crate) addr: SocketAddr,
    socket: std::net::TcpListener,
}

/// The REST API's listeners and their security, checked and bound before anything else
/// starts, so a bad setting fails the worker at once.
pub(crate) struct RestServer {
    pub(crate) listeners: Vec<Bound>,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    credentials: Option<Credentials>,
    cors: Option<CorsLayer>,
}

impl RestServer {
    /// Checks the security settings and binds every listener.
    pub(crate) fn bind(config: &WorkerConfig) -> Result<RestServer> {
        let tls = if config
            .listeners
            .iter()
            .any(|l| l.protocol == Protocol::Https)
        {
            let server = super::tls::server_config(&config.rest_ssl())?;
            Some(axum_server::tls_rustls::RustlsConfig::from_config(
                Arc::new(server),
            ))
        } else {
            None
        };
        let kafka_opts = std::env::var("KAFKA_OPTS").ok();
        let credentials =
            Credentials::from_extensions(&config.rest_extension_classes, kafka_opts.as_deref())?;
        let cors = cors(config)?;
        let mut listeners = Vec::with_capacity(config.listeners.len());
        for listener in &config.listeners {
            let bind = listener.bind_addr().map_err(|e| {
                Error::with_source(
                    ErrorKind::Config,
                    format!("bad REST listener {}:{}", listener.host, listener.port),
                    e,
                )
            })?;
            let socket = std::net::TcpListener::bind(bind)
                .and_then(|s| s.set_nonblocking(true).map(|()| s))
                .map_err(|e| {
                    Error::with_source(
                        ErrorKind::Io,
                        format!("cannot listen on {bind} (rest.port/listeners)"),
                        e,
                    )
                })?;
            let addr = socket.local_addr().map_err(|e| {
                Error::with_source(ErrorKind::Io, "cannot read the REST listener address", e)
            })?;
            listeners.push(Bound {
                protocol: listener.protocol,
                addr,
                socket,
            });
        }
        Ok(RestServer {
            listeners,
            tls,
            credentials,
            cors,
        })
    }

    /// Serves `router` on every listener until `shutdown` is cancelled.
    pub(crate) fn serve(self, router: Router, shutdown: CancellationToken) -> Result<()> {
        let mut router = router;
        if let Some(credentials) = self.credentials {
            router = router.layer(axum::middleware::from_fn_with_state(
                credentials,
                super::auth::require,
            ));
        }
        // CORS outside authentication: a browser's preflight carries no credentials.
        if let Some(cors) = self.cors {
            router = router.layer(cors);
        }
        for bound in self.listeners {
            let router = router.clone();
            let shutdown = shutdown.clone();
            let addr = bound.addr;
            match bound.protocol {
                Protocol::Http => {
                    let socket = tokio::net::TcpListener::from_std(bound.socket).map_err(|e| {
                        Error::with_source(ErrorKind::Io, "cannot serve the REST listener", e)
                    })?;
                    tokio::spawn(async move {
                        let served = axum::serve(socket, router)
                            .with_graceful_shutdown(async move { shutdown.cancelled().await })
                            .await;
                        if let Err(error) = served {
                            tracing::error!(message = "REST server failed", addr = %addr, error = %error);
                        }
                    });
                }
                Protocol::Https => {
                    let tls = self.tls.clone().ok_or_else(|| {
                        Error::new(
                            ErrorKind::Internal,
                            "an https listener without TLS settings",
                        )
                    })?;
                    let handle = axum_server::Handle::new();
                    let server = axum_server::tls_rustls::from_tcp_rustls(bound.socket, tls)
                        .map_err(|e| {
                            Error::with_source(ErrorKind::Io, "cannot serve the REST listener", e)
                        })?
                        .handle(handle.clone());
                    tokio::spawn(async move {
                        shutdown.cancelled().await;
                        handle.graceful_shutdown(Some(Duration::from_secs(5)));
                    });
                    tokio::spawn(async move {
                        if let Err(error) = server.serve(router.into_make_service()).await {
                            tracing::error!(message = "REST server failed", addr = %addr, error = %error);
                        }
                    });
                }
            }
        }
        Ok(())
    }
}

/// CORS from `access.control.allow.origin` (empty: off; `*`: any origin) and
/// `access.control.allow.methods` (default `GET,POST,HEAD`), with the headers Jetty's
/// `CrossOriginFilter` allows by default, as Connect configures it.
fn cors(config: &WorkerConfig) -> Result<Option<CorsLayer>> {
    let Some(origins) = config.cors_allow_origin.as_deref() else {
        return Ok(None);
    };
    let origin = if origins == "*" {
        AllowOrigin::mirror_request()
    } else {
        let list = origins
            .split(',')
            .map(|o| {
                o.trim().parse().map_err(|_| {
                    Error::from(ConfigError::invalid(
                        "access.control.allow.origin",
                        origins,
                        "a comma-separated list of origins, or *",
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        AllowOrigin::list(list)
    };
    let methods = config
        .cors_allow_methods
        .as_deref()
        .unwrap_or("GET,POST,HEAD");
    let methods = methods
        .split(',')
        .map(|m| {
            Method::from_bytes(m.trim().as_bytes()).map_err(|_| {
                Error::from(ConfigError::invalid(
                    "access.control.allow.methods",
                    methods,
                    "a comma-separated list of HTTP methods",
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let headers = ["x-requested-with", "content-type", "accept", "origin"]
        .map(HeaderName::from_static)
        .to_vec();
    Ok(Some(
        CorsLayer::new()
            .allow_origin(origin)
            .allow_methods(methods)
            .allow_headers(headers)
            .allow_credentials(true),
    ))
}
