//! The admin HTTP endpoint on `[admin] listen` (loopback by default):
//! `GET /metrics` (OpenMetrics text), `GET /healthz` and `GET /readyz` (see
//! `health.rs`). Three fixed routes do not need an HTTP framework: each
//! connection sends one request (head bounded to 8 KiB, read within 5 s)
//! and gets one response with `Connection: close` (RFC 9112 §9.6). At most
//! [`MAX_CONNECTIONS`] are served at once; more wait in the accept queue.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::Metrics;
use super::health::not_ready;

/// Concurrent admin connections.
pub const MAX_CONNECTIONS: usize = 16;
/// Bound on a request head.
const MAX_HEAD: usize = 8192;
/// Bound on reading a request head.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The OpenMetrics media type (what prometheus-client writes).
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Serves requests until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let _permit = permit;
            handle(stream, &metrics).await;
        });
    }
}

async fn handle(mut stream: TcpStream, metrics: &Metrics) {
    let Ok(Some(head)) = tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await else {
        return;
    };
    let response = respond(&head, metrics);
    let _ = stream.write_all(&response).await;
    let _ = stream.shutdown().await;
}

/// Reads until the blank line ending the head; `None` when the peer closed
/// first or the head is too large.
async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(chunk.get(..n)?);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            return Some(buf);
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
    }
}

/// The whole response for one request head.
pub(super) fn respond(head: &[u8], metrics: &Metrics) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut words = text.lines().next().unwrap_or("").split_whitespace();
    let method = words.next().unwrap_or("");
    let target = words.next().unwrap_or("/");
    let path = target.split('?').next().unwrap_or(target);
    let (status, ctype, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") => match metrics.render() {
            Ok(body) => ("200 OK", OPENMETRICS, body),
            Err(_) => (
                "500 Internal Server Error",
                TEXT,
                "encoding failed\n".into(),
            ),
        },
        ("GET" | "HEAD", "/healthz") => ("200 OK", TEXT, "ok\n".into()),
        ("GET" | "HEAD", "/readyz") => {
            let why = not_ready(&metrics.startup, &metrics.snapshot());
            if why.is_empty() {
                ("200 OK", TEXT, "ready\n".into())
            } else {
                (
                    "503 Service Unavailable",
                    TEXT,
                    format!("not ready: {}\n", why.join("; ")),
                )
            }
        }
        (_, "/metrics" | "/healthz" | "/readyz") => {
            ("405 Method Not Allowed", TEXT, "only GET and HEAD\n".into())
        }
        _ => ("404 Not Found", TEXT, "not found\n".into()),
    };
    let allow = if status.starts_with("405") {
        "Allow: GET, HEAD\r\n"
    } else {
        ""
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{allow}Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if method != "HEAD" {
        out.extend_from_slice(body.as_bytes());
    }
    out
}
