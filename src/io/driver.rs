//! The single event loop: it owns the gateway core, turns socket reads,
//! connection events and deadlines into core inputs, and carries the core's
//! outputs to sockets and logs. It makes no protocol decisions.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::{Semaphore, mpsc, watch};

use crate::gateway::{Gateway, GatewayEvent, Output, PeerIdentity, StatsSnapshot};
use crate::io::clock;
use crate::io::dns::DnsClient;
use crate::io::signals::Control;
use crate::metrics::Recorder;
use crate::route::{Answer, Query, QueryId};
use crate::sip::{Limits, Transmit, Transport};

/// What the socket tasks tell the loop.
#[derive(Debug)]
pub(crate) enum IoEvent {
    /// One message (datagram or framed stream slice), with the verified
    /// client identity of the mutual-TLS connection it came on.
    Inbound {
        remote: SocketAddr,
        transport: Transport,
        bytes: Bytes,
        identity: Option<Arc<PeerIdentity>>,
    },
    /// A TCP connection exists (inbound accepted); its writer.
    TcpOpened {
        remote: SocketAddr,
        writer: mpsc::Sender<Bytes>,
    },
    /// A TCP connection ended.
    TcpClosed { remote: SocketAddr },
    /// An outbound TCP connect failed (for TLS: before the handshake).
    ConnectFailed {
        dst: SocketAddr,
        transport: Transport,
    },
    /// An inbound TLS connection finished its handshake; its writer.
    TlsOpened {
        remote: SocketAddr,
        writer: mpsc::Sender<Bytes>,
    },
    /// A TLS connection ended (`server_name` set for outbound ones).
    TlsClosed {
        remote: SocketAddr,
        server_name: Option<Arc<str>>,
    },
    /// An outbound TLS handshake was refused (or could not be tried); no
    /// byte was written on it.
    TlsFailed {
        dst: SocketAddr,
        server_name: Arc<str>,
        reason: String,
    },
    /// An inbound TLS handshake was refused or timed out (counted).
    TlsInboundFailed,
    /// A DNS lookup finished.
    Resolved { query: QueryId, answer: Answer },
    /// XMPP component connection `conn` is open.
    XmppConnected { conn: u64 },
    /// Bytes read on XMPP connection `conn`.
    XmppBytes { conn: u64, bytes: Bytes },
    /// XMPP connection `conn` failed to open or ended.
    XmppClosed { conn: u64, connect_failed: bool },
}

/// Bound on inputs handled before outputs are flushed.
const BATCH: usize = 64;

pub(crate) struct Driver {
    pub(crate) gateway: Gateway,
    /// UDP sockets with their address family (`true` = IPv4), so sends pick
    /// one without a syscall.
    pub(crate) udp: Vec<(bool, Arc<UdpSocket>)>,
    pub(crate) events_tx: mpsc::Sender<IoEvent>,
    pub(crate) events_rx: mpsc::Receiver<IoEvent>,
    pub(crate) tcp: HashMap<SocketAddr, mpsc::Sender<Bytes>>,
    pub(crate) limits: Limits,
    pub(crate) tcp_slots: Arc<Semaphore>,
    /// Certificates, configs and the TLS connection budget.
    pub(crate) tls: Arc<crate::io::tls::TlsContext>,
    /// Inbound TLS connections by remote address.
    pub(crate) tls_in: HashMap<SocketAddr, mpsc::Sender<Bytes>>,
    /// Outbound TLS connections by (address, verified server name): one
    /// connection per pair, reused by later requests.
    pub(crate) tls_out: HashMap<(SocketAddr, Arc<str>), mpsc::Sender<Bytes>>,
    /// The counters the admin endpoint reads, published after each batch.
    pub(crate) stats_tx: watch::Sender<StatsSnapshot>,
    /// Counts operation events as they are drained.
    pub(crate) recorder: Recorder,
    /// The DNS client; `None` when `[dns] enabled = false` (queries are then
    /// answered with a failure at once, which the core never asks for).
    pub(crate) dns: Option<Arc<DnsClient>>,
    /// The component link's connection, when one is open or opening.
    pub(crate) xmpp: Option<crate::io::xmpp::XmppConn>,
    /// Bound on bytes waiting in the component link's writer queue.
    pub(crate) xmpp_write_queue_bytes: usize,
    /// TLS for the component link, when `[xmpp] tls = true`.
    pub(crate) xmpp_tls: Option<crate::io::xmpp::XmppTls>,
    /// The IO-level settings the process started with, which a reload
    /// cannot change (reported as needing a restart).
    pub(crate) started_with: RestartOnly,
    /// Readiness facts `/readyz` reads (draining is set here).
    pub(crate) startup: Arc<crate::metrics::health::Startup>,
    /// How long a drain may take before what is left is answered.
    pub(crate) drain_timeout: std::time::Duration,
    /// The durable state store.
    pub(crate) store: Box<dyn crate::store::StateStore>,
    /// Writes of this turn, committed together when the outputs are drained.
    pub(crate) writes: Vec<crate::store::Write>,
}

impl Driver {
    /// Runs until a drain (SIGTERM) has finished: every accepted operation
    /// answered, or the drain timeout passed and what was left answered.
    pub(crate) async fn run(mut self, mut controls: mpsc::Receiver<Control>) {
        // Let the core start its timers (the XMPP link connects at once).
        self.gateway.handle_timeout(clock::now());
        let mut deadline: Option<std::time::Instant> = self.flush().await;
        let mut drain_until: Option<std::time::Instant> = None;
        loop {
            let wake = match (deadline, drain_until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let sleep = async {
                match wake {
                    Some(d) => tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                ev = self.events_rx.recv() => {
                    let Some(ev) = ev else { break };
                    self.on_event(ev).await;
                    for _ in 1..BATCH {
                        match self.events_rx.try_recv() {
                            Ok(ev) => self.on_event(ev).await,
                            Err(_) => break,
                        }
                    }
                }
                () = sleep => {
                    self.gateway.handle_timeout(clock::now());
                }
                ctl = controls.recv() => match ctl {
                    Some(Control::Reload(config)) => self.reload(&config),
                    Some(Control::Drain) if drain_until.is_none() => {
                        let pending = self.gateway.pending_relays();
                        tracing::info!(pending, timeout_s = self.drain_timeout.as_secs(), "draining: new operations get 503, in-flight ones finish");
                        self.startup.set_draining();
                        self.gateway.begin_drain();
                        drain_until = Some(clock::now() + self.drain_timeout);
                    }
                    Some(Control::Drain) => tracing::info!("already draining"),
                    None => {}
                },
            }
            deadline = self.flush().await;
            if let Some(until) = drain_until {
                let now = clock::now();
                if self.gateway.is_drained() {
                    tracing::info!("drained: every accepted operation was answered");
                    break;
                }
                if now >= until {
                    tracing::warn!(
                        left = self.gateway.pending_relays(),
                        "drain timeout: answering what is left (202 if forwarded, else 503)"
                    );
                    self.gateway.finish_drain(now);
                    let _ = self.flush().await;
                    break;
                }
            }
            let stats = self.gateway.snapshot();
            self.stats_tx.send_if_modified(|s| {
                let changed = *s != stats;
                *s = stats;
                changed
            });
        }
    }

    /// Applies a reloaded configuration's routes and policy.
    fn reload(&mut self, config: &crate::config::Config) {
        let new = crate::io::gateway_config(config);
        let mut r = self.gateway.reload(&new);
        r.needs_restart
            .extend(self.started_with.changed(&RestartOnly::of(config)));
        tracing::info!(
            routes = config.routes.len(),
            peers = config.policy.peers.len(),
            "configuration reloaded: routes and policy applied"
        );
        if !r.needs_restart.is_empty() {
            tracing::warn!(changed = ?r.needs_restart, "these settings changed but only apply after a restart");
        }
    }

    async fn on_event(&mut self, ev: IoEvent) {
        match ev {
            IoEvent::Inbound {
                remote,
                transport,
                bytes,
                identity,
            } => {
                self.gateway.handle_sip_identified(
                    clock::now(),
                    remote,
                    transport,
                    bytes,
                    identity,
                );
            }
            IoEvent::TcpOpened { remote, writer } => {
                self.tcp.insert(remote, writer);
            }
            IoEvent::TcpClosed { remote } => {
                // Answers to what this connection sent are already queued by
                // the core: hand them to the writer before dropping it.
                // (The deadline it returns is recomputed by the loop's flush.)
                let _ = self.flush().await;
                self.tcp.remove(&remote);
            }
            IoEvent::ConnectFailed { dst, transport } => {
                match transport {
                    Transport::Tls => self.tls_out.retain(|(a, _), w| *a != dst || !w.is_closed()),
                    Transport::Tcp | Transport::Udp => {
                        self.tcp.remove(&dst);
                    }
                }
                self.gateway
                    .handle_transport_error(clock::now(), dst, transport);
            }
            IoEvent::TlsOpened { remote, writer } => {
                self.tls_in.insert(remote, writer);
            }
            IoEvent::TlsClosed {
                remote,
                server_name,
            } => {
                let _ = self.flush().await;
                match server_name {
                    Some(name) => {
                        let key = (remote, name);
                        if self.tls_out.get(&key).is_some_and(mpsc::Sender::is_closed) {
                            self.tls_out.remove(&key);
                        }
                    }
                    None => {
                        self.tls_in.remove(&remote);
                    }
                }
            }
            IoEvent::TlsFailed {
                dst,
                server_name,
                reason,
            } => {
                self.tls_out.remove(&(dst, server_name.clone()));
                self.gateway
                    .handle_tls_failure(clock::now(), dst, &server_name, &reason);
            }
            IoEvent::TlsInboundFailed => self.gateway.note_tls_inbound_failure(),
            IoEvent::Resolved { query, answer } => {
                self.gateway.handle_resolved(clock::now(), query, answer);
            }
            IoEvent::XmppConnected { conn } => {
                self.gateway.handle_xmpp_connected(clock::now(), conn)
            }
            IoEvent::XmppBytes { conn, bytes } => {
                self.gateway.handle_xmpp_bytes(clock::now(), conn, &bytes)
            }
            IoEvent::XmppClosed {
                conn,
                connect_failed,
            } => {
                if self.xmpp.as_ref().is_some_and(|x| x.conn == conn) {
                    self.xmpp = None;
                }
                self.gateway
                    .handle_xmpp_closed(clock::now(), conn, connect_failed);
            }
        }
    }

    /// Drains the core's outputs; returns the next deadline.
    async fn flush(&mut self) -> Option<std::time::Instant> {
        loop {
            match self.gateway.poll_output() {
                Some(Output::SendSip(t)) => self.send(t).await,
                Some(Output::SendSipTls {
                    transmit,
                    server_name,
                }) => self.send_tls(transmit, server_name),
                Some(Output::Resolve(q)) => self.resolve(q),
                Some(Output::ConnectXmpp { conn, addr }) => {
                    if let Some(old) = self.xmpp.take() {
                        old.close();
                    }
                    self.xmpp = Some(crate::io::xmpp::connect(
                        conn,
                        addr,
                        self.events_tx.clone(),
                        self.xmpp_write_queue_bytes,
                        self.xmpp_tls.clone(),
                    ));
                }
                Some(Output::SendXmpp { conn, bytes }) => match &self.xmpp {
                    Some(x) if x.conn == conn => {
                        if !x.send(bytes) {
                            tracing::warn!(conn, "xmpp write queue full; closing the link");
                            if let Some(x) = self.xmpp.take() {
                                x.close();
                            }
                            self.gateway.handle_xmpp_closed(clock::now(), conn, false);
                        }
                    }
                    _ => tracing::trace!(conn, "bytes for a closed xmpp connection dropped"),
                },
                Some(Output::CloseXmpp { conn }) => {
                    if self.xmpp.as_ref().is_some_and(|x| x.conn == conn)
                        && let Some(x) = self.xmpp.take()
                    {
                        x.close();
                    }
                }
                Some(Output::Event(e)) => {
                    self.recorder.observe(&e);
                    log_event(&e);
                }
                Some(Output::Persist(w)) => self.writes.push(w),
                Some(Output::Timeout(t)) => {
                    self.commit();
                    return Some(t);
                }
                None => {
                    self.commit();
                    return None;
                }
            }
        }
    }

    /// Commits this turn's state writes in one transaction.
    fn commit(&mut self) {
        if self.writes.is_empty() {
            return;
        }
        match self.store.commit(&self.writes) {
            Ok(()) => self.startup.set_store_failing(false),
            Err(e) => {
                tracing::error!(error = %e, writes = self.writes.len(), "state store commit failed; subscriptions will not survive a restart");
                self.startup.set_store_failing(true);
            }
        }
        self.writes.clear();
    }

    async fn send(&mut self, t: Transmit) {
        match t.transport {
            Transport::Udp => {
                let Some(sock) = self.udp_for(t.dst) else {
                    tracing::warn!(dst = %t.dst, "no udp socket for address family");
                    self.gateway
                        .handle_transport_error(clock::now(), t.dst, Transport::Udp);
                    return;
                };
                // A send error on UDP (e.g. ICMP-refused from a previous
                // datagram) is reported to the transactions towards dst.
                if let Err(e) = sock.send_to(&t.payload, t.dst).await {
                    tracing::debug!(dst = %t.dst, error = %e, "udp send failed");
                    self.gateway
                        .handle_transport_error(clock::now(), t.dst, Transport::Udp);
                }
            }
            Transport::Tcp => {
                let writer = match self.tcp.get(&t.dst) {
                    Some(w) if !w.is_closed() => w.clone(),
                    _ => {
                        let (tx, rx) = mpsc::channel(1024);
                        crate::io::tcp::connect(
                            t.dst,
                            rx,
                            self.events_tx.clone(),
                            self.limits,
                            self.tcp_slots.clone(),
                        );
                        self.tcp.insert(t.dst, tx.clone());
                        tx
                    }
                };
                if writer.try_send(t.payload).is_err() {
                    tracing::warn!(dst = %t.dst, "tcp write queue full or closed");
                    self.tcp.remove(&t.dst);
                    self.gateway
                        .handle_transport_error(clock::now(), t.dst, Transport::Tcp);
                }
            }
            Transport::Tls => {
                // A response or a request on an existing connection: the one
                // the peer opened, else one we opened to that address.
                let existing = self
                    .tls_in
                    .get(&t.dst)
                    .filter(|w| !w.is_closed())
                    .or_else(|| {
                        self.tls_out
                            .iter()
                            .find(|((a, _), w)| *a == t.dst && !w.is_closed())
                            .map(|(_, w)| w)
                    })
                    .cloned();
                match existing {
                    Some(w) => {
                        if w.try_send(t.payload).is_err() {
                            tracing::warn!(dst = %t.dst, "tls write queue full or closed");
                            self.gateway.handle_transport_error(
                                clock::now(),
                                t.dst,
                                Transport::Tls,
                            );
                        }
                    }
                    // No connection: open one verified against the address
                    // itself (an IP subjectAltName).
                    None => {
                        let name: Arc<str> = Arc::from(t.dst.ip().to_string());
                        self.send_tls(t, name);
                    }
                }
            }
        }
    }

    /// Sends on the outbound TLS connection for (`dst`, `server_name`),
    /// opening it first if needed. The bytes wait in the writer queue until
    /// the handshake has verified the server; a refused handshake drops them.
    fn send_tls(&mut self, t: Transmit, server_name: Arc<str>) {
        let key = (t.dst, server_name);
        let payload = match self.tls_out.get(&key) {
            Some(w) => match w.try_send(t.payload) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(dst = %t.dst, "tls write queue full");
                    self.gateway
                        .handle_transport_error(clock::now(), t.dst, Transport::Tls);
                    return;
                }
                // That connection has just ended (or its handshake was
                // refused): this request gets a connection of its own.
                Err(mpsc::error::TrySendError::Closed(p)) => p,
            },
            None => t.payload,
        };
        // Queue before the connection task exists, so a handshake that
        // fails at once is reported as such (TlsFailed), never as a closed
        // queue.
        let (tx, rx) = mpsc::channel(crate::io::tcp::WRITE_QUEUE);
        if tx.try_send(payload).is_err() {
            return;
        }
        crate::io::tls::connect(
            self.tls.clone(),
            t.dst,
            key.1.clone(),
            rx,
            self.events_tx.clone(),
            self.limits,
        );
        self.tls_out.insert(key, tx);
    }

    /// Runs a lookup in its own task; the answer comes back as an event.
    /// `DnsClient::lookup` is bounded, so every query is answered.
    fn resolve(&mut self, query: Query) {
        let events = self.events_tx.clone();
        match self.dns.clone() {
            Some(dns) => {
                tokio::spawn(async move {
                    let answer = dns.lookup(&query).await;
                    let _ = events
                        .send(IoEvent::Resolved {
                            query: query.id,
                            answer,
                        })
                        .await;
                });
            }
            None => {
                let _ = events.try_send(IoEvent::Resolved {
                    query: query.id,
                    answer: Answer::Failure,
                });
            }
        }
    }

    fn udp_for(&self, dst: SocketAddr) -> Option<&Arc<UdpSocket>> {
        self.udp
            .iter()
            .find(|(v4, _)| *v4 == dst.is_ipv4())
            .map(|(_, s)| s)
    }
}

fn log_event(e: &GatewayEvent) {
    match e {
        GatewayEvent::RelayFinished {
            downstream,
            upstream,
            elapsed,
        } => {
            tracing::debug!(downstream = ?downstream, upstream, elapsed_us = elapsed.as_micros() as u64, "relay finished");
        }
        GatewayEvent::Refused { status, reason } => {
            tracing::debug!(status, reason = %reason, "refused")
        }
        GatewayEvent::Dropped { reason } => {
            tracing::info!(reason = %reason, "dropped unanswerable input")
        }
        GatewayEvent::Operation(op) => tracing::trace!(?op, "operation leg finished"),
    }
}

/// Settings read once when the IO layer starts: TLS files and modes, the
/// component link's TLS and write bound, the admin listener and the log
/// output. A reload that changes them is applied without them and says so.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RestartOnly {
    tls: crate::config::TlsSettings,
    xmpp_tls: Option<String>,
    xmpp_write_queue_bytes: Option<usize>,
    admin: std::net::SocketAddr,
    log: (String, String, bool),
}

impl RestartOnly {
    pub(crate) fn of(c: &crate::config::Config) -> RestartOnly {
        RestartOnly {
            tls: c.tls.clone(),
            xmpp_tls: c.xmpp.as_ref().and_then(|x| x.tls_name.clone()),
            xmpp_write_queue_bytes: c.xmpp.as_ref().map(|x| x.max_write_queue_bytes),
            admin: c.admin.listen,
            log: (
                format!("{:?}", c.log.format),
                c.log.level.clone(),
                c.log.redact,
            ),
        }
    }

    /// Names of the groups that differ in `new`.
    pub(crate) fn changed(&self, new: &RestartOnly) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.tls != new.tls {
            out.push("tls");
        }
        if self.xmpp_tls != new.xmpp_tls
            || self.xmpp_write_queue_bytes != new.xmpp_write_queue_bytes
        {
            out.push("xmpp tls and write bound");
        }
        if self.admin != new.admin {
            out.push("admin listener");
        }
        if self.log != new.log {
            out.push("log output");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::RestartOnly;
    use crate::config::Config;

    #[test]
    fn a_reload_names_the_settings_that_need_a_restart() {
        let a = RestartOnly::of(&Config::parse("", "a.toml").unwrap());
        assert!(a.changed(&a.clone()).is_empty());
        let b = Config::parse(
            "[tls]\ndanger_accept_invalid_certs = true\n[admin]\nlisten = \"127.0.0.1:9999\"\n\
             [log]\nredact = false\n",
            "b.toml",
        )
        .unwrap();
        assert_eq!(
            a.changed(&RestartOnly::of(&b)),
            vec!["tls", "admin listener", "log output"]
        );
    }
}
