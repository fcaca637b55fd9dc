//! The TCP connection of the XEP-0114 component link. The gateway core
//! decides when to connect and what to write; this file only opens the
//! socket (bounded), copies bytes both ways, and reports the connection's
//! end. Every event carries the connection id the core gave, so the core
//! can ignore events of a connection it already gave up on.
//!
//! The writer queue is bounded twice: in stanzas ([`WRITE_QUEUE`]) and in
//! bytes (`xmpp.max_write_queue_bytes`). A write that would pass either
//! bound is refused and the driver closes the link (the core then answers
//! what was waiting on it and reconnects with backoff), so a stalled XMPP
//! server cannot make the gateway buffer without limit.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::io::driver::IoEvent;

/// Bound on opening the TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Queue depth of the writer (the core bounds its own stanza queue).
const WRITE_QUEUE: usize = 4096;

/// The live connection the driver holds.
#[derive(Debug)]
pub(crate) struct XmppConn {
    pub(crate) conn: u64,
    writer: mpsc::Sender<Bytes>,
    task: AbortHandle,
    /// Bytes queued and not yet written.
    queued: Arc<AtomicUsize>,
    /// Bound on `queued`.
    max_bytes: usize,
}

impl XmppConn {
    /// Queues bytes; false when the queue is full (in stanzas or in
    /// bytes) or the writer is gone.
    pub(crate) fn send(&self, bytes: Bytes) -> bool {
        let len = bytes.len();
        let before = self.queued.fetch_add(len, Ordering::AcqRel);
        if before.saturating_add(len) > self.max_bytes || self.writer.try_send(bytes).is_err() {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// Stops reading; the writer drains what is queued, then closes.
    pub(crate) fn close(self) {
        self.task.abort();
        drop(self.writer);
    }
}

/// Opens connection `conn` to `addr` in its own task; at most
/// `max_bytes` wait in its writer queue.
pub(crate) fn connect(
    conn: u64,
    addr: SocketAddr,
    events: mpsc::Sender<IoEvent>,
    max_bytes: usize,
) -> XmppConn {
    let (tx, rx) = mpsc::channel::<Bytes>(WRITE_QUEUE);
    let queued = Arc::new(AtomicUsize::new(0));
    let written = queued.clone();
    let task = tokio::spawn(async move {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::debug!(%addr, error = %e, "xmpp connect failed");
                let _ = events
                    .send(IoEvent::XmppClosed {
                        conn,
                        connect_failed: true,
                    })
                    .await;
                return;
            }
            Err(_) => {
                tracing::debug!(%addr, "xmpp connect timed out");
                let _ = events
                    .send(IoEvent::XmppClosed {
                        conn,
                        connect_failed: true,
                    })
                    .await;
                return;
            }
        };
        let _ = stream.set_nodelay(true);
        let (mut rd, wr) = stream.into_split();
        tokio::spawn(write_loop(wr, rx, written));
        if events.send(IoEvent::XmppConnected { conn }).await.is_err() {
            return;
        }
        let mut buf = BytesMut::with_capacity(16 * 1024);
        loop {
            buf.clear();
            match rd.read_buf(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let bytes = buf.split().freeze();
                    if events
                        .send(IoEvent::XmppBytes { conn, bytes })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
        let _ = events
            .send(IoEvent::XmppClosed {
                conn,
                connect_failed: false,
            })
            .await;
    });
    XmppConn {
        conn,
        writer: tx,
        task: task.abort_handle(),
        queued,
        max_bytes,
    }
}

async fn write_loop(
    mut wr: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::Receiver<Bytes>,
    queued: Arc<AtomicUsize>,
) {
    while let Some(b) = rx.recv().await {
        let ok = wr.write_all(&b).await.is_ok();
        queued.fetch_sub(b.len(), Ordering::AcqRel);
        if !ok {
            break;
        }
    }
    let _ = wr.shutdown().await;
}
