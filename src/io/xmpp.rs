//! The TCP (or TLS, `[xmpp] tls = true`) connection of the XEP-0114
//! component link. The gateway core decides when to connect and what to
//! write; this file only opens the socket (bounded), runs the TLS
//! handshake with the server certificate verified, copies bytes both ways,
//! and reports the connection's end. Every event carries the connection id the core gave, so the core
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
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tracing::Instrument;

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
    budget: ByteBudget,
}

/// Bytes waiting in a writer queue, shared by the sender (reserves) and
/// the write loop (releases once written), with a bound.
#[derive(Clone, Debug)]
struct ByteBudget {
    queued: Arc<AtomicUsize>,
    max: usize,
}

impl ByteBudget {
    fn new(max: usize) -> ByteBudget {
        ByteBudget {
            queued: Arc::new(AtomicUsize::new(0)),
            max,
        }
    }

    /// Reserves `len` bytes; false (and nothing reserved) past the bound.
    fn reserve(&self, len: usize) -> bool {
        let before = self.queued.fetch_add(len, Ordering::AcqRel);
        if before.saturating_add(len) > self.max {
            self.release(len);
            return false;
        }
        true
    }

    fn release(&self, len: usize) {
        self.queued.fetch_sub(len, Ordering::AcqRel);
    }
}

impl XmppConn {
    /// Queues bytes; false when the queue is full (in stanzas or in
    /// bytes) or the writer is gone.
    pub(crate) fn send(&self, bytes: Bytes) -> bool {
        let len = bytes.len();
        if !self.budget.reserve(len) {
            return false;
        }
        if self.writer.try_send(bytes).is_err() {
            self.budget.release(len);
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

/// TLS for the component link (`[xmpp] tls = true`): the connector (the
/// same trust anchors and verification as SIP over TLS, `src/io/tls.rs`),
/// the name the server certificate must carry, and the handshake bound.
#[derive(Clone)]
pub(crate) struct XmppTls {
    pub(crate) connector: tokio_rustls::TlsConnector,
    pub(crate) server_name: rustls::pki_types::ServerName<'static>,
    pub(crate) handshake: Duration,
}

/// Opens connection `conn` to `addr` in its own task (over TLS when `tls`
/// is given: the stream starts only after the server certificate was
/// verified); at most `max_bytes` wait in its writer queue.
pub(crate) fn connect(
    conn: u64,
    addr: SocketAddr,
    events: mpsc::Sender<IoEvent>,
    max_bytes: usize,
    tls: Option<XmppTls>,
) -> XmppConn {
    let (tx, rx) = mpsc::channel::<Bytes>(WRITE_QUEUE);
    let budget = ByteBudget::new(max_bytes);
    let written = budget.clone();
    let run = async move {
        let failed = IoEvent::XmppClosed {
            conn,
            connect_failed: true,
        };
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::debug!(%addr, error = %e, "xmpp connect failed");
                let _ = events.send(failed).await;
                return;
            }
            Err(_) => {
                tracing::debug!(%addr, "xmpp connect timed out");
                let _ = events.send(failed).await;
                return;
            }
        };
        let _ = stream.set_nodelay(true);
        let Some(tls) = tls else {
            return run_link(stream, conn, rx, written, events).await;
        };
        let name = tls.server_name.clone();
        match tokio::time::timeout(tls.handshake, tls.connector.connect(name, stream)).await {
            Ok(Ok(s)) => {
                tracing::debug!(%addr, "xmpp tls connection verified");
                run_link(s, conn, rx, written, events).await;
            }
            Ok(Err(e)) => {
                // A refused certificate is an operator's problem: warn.
                tracing::warn!(%addr, error = %e, "xmpp tls handshake refused");
                let _ = events.send(failed).await;
            }
            Err(_) => {
                tracing::warn!(%addr, "xmpp tls handshake timed out");
                let _ = events.send(failed).await;
            }
        }
    };
    // The XMPP stream's span: connect, reads and what they report.
    let task =
        tokio::spawn(run.instrument(tracing::info_span!("xmpp_stream", conn, server = %addr)));
    XmppConn {
        conn,
        writer: tx,
        task: task.abort_handle(),
        budget,
    }
}

/// Copies bytes both ways on an open (plain or TLS) stream until it ends.
async fn run_link<S>(
    stream: S,
    conn: u64,
    rx: mpsc::Receiver<Bytes>,
    written: ByteBudget,
    events: mpsc::Sender<IoEvent>,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, wr) = tokio::io::split(stream);
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
}

async fn write_loop<W: AsyncWrite + Send>(
    wr: W,
    mut rx: mpsc::Receiver<Bytes>,
    budget: ByteBudget,
) {
    let mut wr = std::pin::pin!(wr);
    while let Some(b) = rx.recv().await {
        let ok = wr.write_all(&b).await.is_ok();
        budget.release(b.len());
        if !ok {
            break;
        }
    }
    let _ = wr.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::ByteBudget;

    #[test]
    fn the_byte_budget_refuses_past_its_bound_and_frees_what_was_written() {
        let b = ByteBudget::new(100);
        assert!(b.reserve(60));
        assert!(b.reserve(40), "exactly at the bound");
        assert!(!b.reserve(1), "one byte over");
        b.release(60);
        assert!(b.reserve(50));
        assert!(!b.reserve(11));
        assert!(
            !ByteBudget::new(10).reserve(11),
            "one write larger than the bound"
        );
    }
}
