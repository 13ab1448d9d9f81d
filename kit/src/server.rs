//! Binding and serving with graceful shutdown: stop accepting on the signal,
//! let in-flight requests finish within the grace period.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{service}: cannot listen on {addr}: port {port} is already in use")]
    InUse {
        service: String,
        addr: SocketAddr,
        port: u16,
    },
    #[error("{service}: cannot listen on {addr}: {source}")]
    Bind {
        service: String,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

pub async fn bind(service: &str, addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr).await.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AddrInUse {
            ServeError::InUse {
                service: service.to_string(),
                addr,
                port: addr.port(),
            }
        } else {
            ServeError::Bind {
                service: service.to_string(),
                addr,
                source,
            }
        }
    })
}

/// Serves `app` until `shutdown`, then drains for at most `grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
    grace: Duration,
) -> std::io::Result<()> {
    let signal = shutdown.clone();
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { signal.cancelled().await });
    let server = std::pin::pin!(std::future::IntoFuture::into_future(server));
    tokio::select! {
        result = server => result,
        _ = async {
            shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("grace period over; closing remaining connections");
            Ok(())
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
