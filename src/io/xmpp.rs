//! The TCP connection of the XEP-0114 component link. The gateway core
//! decides when to connect and what to write; this file only opens the
//! socket (bounded), copies bytes both ways, and reports the connection's
//! end. Every event carries the connection id the core gave, so the core
//! can ignore events of a connection it already gave up on.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
}

impl XmppConn {
    /// Queues bytes; false when the queue is full or the writer is gone.
    pub(crate) fn send(&self, bytes: Bytes) -> bool {
        self.writer.try_send(bytes).is_ok()
    }

    /// Stops reading; the writer drains what is queued, then closes.
    pub(crate) fn close(self) {
        self.task.abort();
        drop(self.writer);
    }
}

/// Opens connection `conn` to `addr` in its own task.
pub(crate) fn connect(conn: u64, addr: SocketAddr, events: mpsc::Sender<IoEvent>) -> XmppConn {
    let (tx, rx) = mpsc::channel::<Bytes>(WRITE_QUEUE);
    let run = async move {
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
        tokio::spawn(write_loop(wr, rx));
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
    };
    // The XMPP stream's span: connect, reads and what they report.
    let task =
        tokio::spawn(run.instrument(tracing::info_span!("xmpp_stream", conn, server = %addr)));
    XmppConn {
        conn,
        writer: tx,
        task: task.abort_handle(),
    }
}

async fn write_loop(mut wr: tokio::net::tcp::OwnedWriteHalf, mut rx: mpsc::Receiver<Bytes>) {
    while let Some(b) = rx.recv().await {
        if wr.write_all(&b).await.is_err() {
            break;
        }
    }
    let _ = wr.shutdown().await;
}
