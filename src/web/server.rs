//! The workbench's connections: HTTP/1.1 over TCP, within bounds.
//!
//! - A request's headers must arrive within `[web] timeout_s` (so must its
//!   body, see [`super::guard`]); a kept-alive connection waiting for its
//!   next request is closed after the same time.
//! - At most `[web] max_connections` are open; a new one beyond closes the
//!   connection idle the longest (a slow-header connection is idle: no
//!   request of it is being answered), so visitors who never finish their
//!   headers cannot crowd out those who do. When every connection is busy
//!   the new one is closed at once.
//! - A connection whose answer is not read for twice the timeout is closed.
//! - Accepting fails (out of file descriptors): logged, retried shortly.

use crate::error::{Error, Result};
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Bounds of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub max_connections: usize,
}

/// One open connection, as the server keeps track of it.
struct Conn {
    /// Requests being answered on it now.
    busy: AtomicUsize,
    /// Milliseconds since the server started when it last finished a
    /// request (or was opened).
    idle_since: AtomicU64,
    /// Tells its task to close it.
    close: Notify,
}

/// The open connections.
struct Conns {
    started: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
}

impl Conns {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Registers a new connection; when the cap is reached, the connection
    /// idle the longest is told to close first. `None`: every connection is
    /// busy, the new one is not taken.
    fn admit(&self, cap: usize) -> Option<(u64, Arc<Conn>)> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.len() >= cap {
            let oldest = open
                .iter()
                .filter(|(_, c)| c.busy.load(Ordering::Acquire) == 0)
                .min_by_key(|(_, c)| c.idle_since.load(Ordering::Acquire))
                .map(|(id, _)| *id)?;
            if let Some(c) = open.remove(&oldest) {
                c.close.notify_one();
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            busy: AtomicUsize::new(0),
            idle_since: AtomicU64::new(self.now_ms()),
            close: Notify::new(),
        });
        open.insert(id, conn.clone());
        Some((id, conn))
    }

    fn forget(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    fn close_all(&self) {
        for c in self.open.lock().unwrap_or_else(|p| p.into_inner()).values() {
            c.close.notify_one();
        }
    }

    fn count(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Counts a request as being answered on its connection while alive.
struct Busy {
    conn: Arc<Conn>,
    conns: Arc<Conns>,
}

impl Busy {
    fn new(conn: Arc<Conn>, conns: Arc<Conns>) -> Busy {
        conn.busy.fetch_add(1, Ordering::AcqRel);
        Busy { conn, conns }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.conn
            .idle_since
            .store(self.conns.now_ms(), Ordering::Release);
        self.conn.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves `router` on `listener` until `shutdown` turns true; then answers
/// the requests under way (for at most the timeout) and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    limits: Limits,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<()> {
    let conns = Arc::new(Conns {
        started: Instant::now(),
        next_id: AtomicU64::new(0),
        open: Mutex::new(HashMap::new()),
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.timeout)
        .keep_alive(true);
    let http = Arc::new(http);
    let mut refused_at: Option<Instant> = None;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, or the peer gave up: the
                    // connections open now close in time.
                    tracing::warn!("workbench: accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = wait_for(&mut shutdown) => break,
        };
        let Some((id, conn)) = conns.admit(limits.max_connections) else {
            if refused_at.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                tracing::warn!(
                    "workbench: all {} connections are busy; new ones are closed at once",
                    limits.max_connections
                );
                refused_at = Some(Instant::now());
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            peer,
            router.clone(),
            http.clone(),
            conns.clone(),
            id,
            conn,
            limits.timeout,
        ));
    }
    conns.close_all();
    let deadline = Instant::now() + limits.timeout;
    while conns.count() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn wait_for(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            // No one can ask any more: serve on.
            std::future::pending::<()>().await;
        }
    }
}

/// Answers the requests of one connection until it closes, is told to
/// close, or its answer is not read in time.
#[allow(clippy::too_many_arguments)]
async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: axum::Router,
    http: Arc<hyper::server::conn::http1::Builder>,
    conns: Arc<Conns>,
    id: u64,
    conn: Arc<Conn>,
    timeout: Duration,
) {
    let service = {
        let (conn, conns) = (conn.clone(), conns.clone());
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            let busy = Busy::new(conn.clone(), conns.clone());
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut router = router.clone();
            async move {
                let answer =
                    tower_service::Service::call(&mut router, request.map(axum::body::Body::new))
                        .await;
                drop(busy);
                answer
            }
        })
    };
    let serving = http.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(serving);
    let stalled = 2 * u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    let mut closing = false;
    loop {
        tokio::select! {
            result = serving.as_mut() => {
                if let Err(e) = result
                    && !e.is_timeout()
                    && !e.is_incomplete_message()
                {
                    tracing::debug!("workbench: connection from {peer}: {e}");
                }
                break;
            }
            _ = conn.close.notified(), if !closing => {
                if conn.busy.load(Ordering::Acquire) == 0 {
                    // Idle (or still sending its headers): closed now.
                    break;
                }
                serving.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = tokio::time::sleep(timeout) => {
                let idle = conns
                    .now_ms()
                    .saturating_sub(conn.idle_since.load(Ordering::Acquire));
                if closing || (conn.busy.load(Ordering::Acquire) == 0 && idle >= stalled) {
                    // Told to close and still open after the timeout, or an
                    // answer no one reads: closed now.
                    break;
                }
            }
        }
    }
    conns.forget(id);
}

/// Binds `listen` (an address in use is an error at start, not later).
pub async fn bind(listen: &str) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| Error::Io {
            what: format!("listening on {listen} (web.listen in duban.toml)"),
            source,
        })
}
