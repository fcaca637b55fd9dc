//! SIP over TCP: accepting and opening connections, and cutting the byte
//! stream into messages with `sip::frame` (RFC 3261 §18.3) — for TCP and,
//! after the handshake in `tls.rs`, for TLS ([`run_stream`] is generic over
//! the stream). Protocol decisions stay in the core: a framing error or a
//! truncated stream is handed to the core as bytes, and the core decides the
//! answer (400).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};

use crate::gateway::PeerIdentity;
use crate::io::driver::IoEvent;
use crate::sip::{Framed, Limits, Transport, frame};

/// Queue depth of one connection's writer.
pub(crate) const WRITE_QUEUE: usize = 1024;
/// Bound on an outbound connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Idle connections are closed after this long without reading a byte.
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// Accepts inbound connections forever.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    events: mpsc::Sender<IoEvent>,
    limits: Limits,
    slots: Arc<Semaphore>,
) {
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "tcp accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(peer = %remote, "tcp connection limit reached; closing");
            drop(stream);
            continue;
        };
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        if events
            .send(IoEvent::TcpOpened { remote, writer: tx })
            .await
            .is_err()
        {
            return;
        }
        let events = events.clone();
        tokio::spawn(async move {
            run_connection(stream, remote, rx, events, limits).await;
            drop(permit);
        });
    }
}

/// Opens an outbound connection and runs it. The writer channel exists
/// before the connection, so transmits queue while connecting.
pub(crate) fn connect(
    dst: SocketAddr,
    rx: mpsc::Receiver<Bytes>,
    events: mpsc::Sender<IoEvent>,
    limits: Limits,
    slots: Arc<Semaphore>,
) {
    tokio::spawn(async move {
        let Ok(permit) = slots.try_acquire_owned() else {
            let _ = events.send(connect_failed(dst)).await;
            return;
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(dst)).await {
            Ok(Ok(stream)) => {
                run_connection(stream, dst, rx, events, limits).await;
            }
            Ok(Err(e)) => {
                tracing::debug!(peer = %dst, error = %e, "tcp connect failed");
                let _ = events.send(connect_failed(dst)).await;
            }
            Err(_) => {
                tracing::debug!(peer = %dst, "tcp connect timed out");
                let _ = events.send(connect_failed(dst)).await;
            }
        }
        drop(permit);
    });
}

fn connect_failed(dst: SocketAddr) -> IoEvent {
    IoEvent::ConnectFailed {
        dst,
        transport: Transport::Tcp,
    }
}

async fn run_connection(
    stream: TcpStream,
    remote: SocketAddr,
    rx: mpsc::Receiver<Bytes>,
    events: mpsc::Sender<IoEvent>,
    limits: Limits,
) {
    let _ = stream.set_nodelay(true);
    let meta = StreamMeta {
        transport: Transport::Tcp,
        identity: None,
        idle: IDLE_TIMEOUT,
        server_name: None,
    };
    run_stream(stream, remote, rx, events, limits, meta).await;
}

/// What a stream connection is, for the events it reports.
pub(crate) struct StreamMeta {
    /// `Tcp` or `Tls`.
    pub(crate) transport: Transport,
    /// The verified client identity of an inbound mutual-TLS connection,
    /// carried with every message read on it.
    pub(crate) identity: Option<Arc<PeerIdentity>>,
    /// Close after this long without reading a byte.
    pub(crate) idle: Duration,
    /// For an outbound TLS connection, the server name it was verified
    /// against (its key in the driver's table).
    pub(crate) server_name: Option<Arc<str>>,
}

/// Runs one established stream connection: a writer task draining `rx`,
/// and a reader cutting messages with `sip::frame` until EOF, an
/// unframeable stream or the idle timeout. Its span names the connection.
#[tracing::instrument(name = "sip_conn", level = "info", skip_all, fields(transport = meta.transport.as_str(), peer = %remote))]
pub(crate) async fn run_stream<S>(
    stream: S,
    remote: SocketAddr,
    mut rx: mpsc::Receiver<Bytes>,
    events: mpsc::Sender<IoEvent>,
    limits: Limits,
    meta: StreamMeta,
) where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let writer = tokio::spawn(async move {
        while let Some(b) = rx.recv().await {
            if wr.write_all(&b).await.is_err() {
                break;
            }
            // A TLS stream buffers records until flushed.
            if wr.flush().await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    });
    let inbound = |bytes: Bytes| IoEvent::Inbound {
        remote,
        transport: meta.transport,
        bytes,
        identity: meta.identity.clone(),
    };
    let mut buf = BytesMut::with_capacity(8192);
    loop {
        let n = match tokio::time::timeout(meta.idle, rd.read_buf(&mut buf)).await {
            Ok(Ok(n)) => n,
            Ok(Err(_)) | Err(_) => break,
        };
        if n == 0 {
            // EOF: whatever is left is a truncated message; the core answers it.
            if !buf.iter().all(|b| *b == b'\r' || *b == b'\n') {
                let bytes = buf.split().freeze();
                let _ = events.send(inbound(bytes)).await;
            }
            break;
        }
        let mut fatal = false;
        loop {
            match frame(&buf, &limits) {
                Ok(Framed::Complete { len }) => {
                    let bytes = buf.split_to(len).freeze();
                    if events.send(inbound(bytes)).await.is_err() {
                        return;
                    }
                }
                Ok(Framed::Keepalive { len }) => {
                    let _ = buf.split_to(len.min(buf.len()));
                }
                Ok(Framed::Partial) => break,
                Err(_) => {
                    // Unframeable: hand the bytes to the core (it answers 400
                    // when enough survives), then close: the stream cannot be
                    // resynchronised.
                    let bytes = buf.split().freeze();
                    let _ = events.send(inbound(bytes)).await;
                    fatal = true;
                    break;
                }
            }
        }
        if fatal {
            break;
        }
    }
    let closed = match meta.transport {
        Transport::Tls => IoEvent::TlsClosed {
            remote,
            server_name: meta.server_name.clone(),
        },
        Transport::Tcp | Transport::Udp => IoEvent::TcpClosed { remote },
    };
    let _ = events.send(closed).await;
    let _ = writer.await;
}
