//! The XEP-0114 component link, sans-IO.
//!
//! [`Component`] drives one external-component connection to an XMPP server:
//!
//! ```text
//! Disconnected{retry_at} --poll_connect--> Connecting --handle_connected-->
//! AwaitingStreamHeader --server header (id)--> Handshaking --<handshake/>-->
//! Online --close/error/timeout--> Disconnected{retry_at} ; close() --> Closed
//! ```
//!
//! # Driving contract
//!
//! Inputs are `handle_*` ([`Component::handle_connected`],
//! [`Component::handle_bytes`], [`Component::handle_disconnected`],
//! [`Component::handle_timeout`]) and [`Component::send_stanza`]. After each
//! input the driver drains [`Component::poll_transmit`] (bytes to write, in
//! order), [`Component::poll_event`], then asks [`Component::poll_connect`]
//! ("open a TCP connection now") and sleeps until [`Component::poll_timeout`].
//! On [`ComponentEvent::Offline`] the driver writes what `poll_transmit` still
//! yields and closes that TCP connection; it must not report the old
//! connection's end afterwards (a stray `handle_disconnected` while already
//! disconnected is ignored). Time going backwards is treated as no time
//! passing. Randomness (backoff jitter) comes from the caller's RNG.
//!
//! # Protocol
//!
//! - Stream open (XEP-0114 §3): `<?xml version='1.0'?><stream:stream
//!   xmlns='jabber:component:accept'
//!   xmlns:stream='http://etherx.jabber.org/streams' to='DOMAIN'>`.
//! - Handshake (XEP-0114 §3): `<handshake>` + lowercase hex SHA-1 of
//!   (stream id ‖ secret); `<handshake/>` back means online.
//!   `<not-authorized/>` gives [`ComponentEvent::AuthFailed`] and a retry
//!   only after [`ComponentConfig::auth_failure_backoff`].
//! - Reconnect: jittered exponential backoff ([`backoff::Backoff`]); the
//!   attempt counter resets once a link stayed online `stable_after`.
//! - Liveness (XEP-0199 §4.2): after `ping_interval` without any inbound
//!   byte, an `<iq type='get'><ping/></iq>` to the server; no inbound byte
//!   within `ping_timeout` after it declares the link dead. Server pings
//!   are answered here.
//! - Every stanza sent carries `from` under the component domain and a
//!   `to` (XEP-0114 §2); [`Component::send_stanza`] refuses others.
//!
//! Not done: XEP-0225 (component connections over client-style streams),
//! TLS (the driver's business), several domains per link (XEP-0114 §2 has
//! one).

pub mod backoff;
mod config;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::Instant;

use bytes::Bytes;
use rand::Rng;
use sha1::{Digest, Sha1};
use tracing::{debug, trace, warn};

use self::backoff::Backoff;
pub use self::config::{
    ComponentConfig, ComponentEvent, ComponentState, DisconnectReason, Secret, SendError,
};
use super::element::Element;
use super::jid::Jid;
use super::stanza::{Iq, IqType, NS_COMPONENT, NS_PING};
use super::stats::XmppStats;
use super::stream::{StreamCondition, StreamItem, StreamParser, write_stream_error};

#[derive(Debug)]
enum State {
    Disconnected {
        retry_at: Instant,
    },
    Connecting {
        deadline: Instant,
    },
    AwaitingStreamHeader {
        deadline: Instant,
        parser: Box<StreamParser>,
    },
    Handshaking {
        deadline: Instant,
        parser: Box<StreamParser>,
    },
    Online(Box<Online>),
    Closed,
}

#[derive(Debug)]
struct Online {
    parser: StreamParser,
    since: Instant,
    last_rx: Instant,
    /// Outstanding ping: (id, sent at).
    ping: Option<(String, Instant)>,
}

/// The XEP-0114 component link machine. See the module docs.
#[derive(Debug)]
pub struct Component {
    config: ComponentConfig,
    state: State,
    attempt: u32,
    ping_seq: u64,
    transmits: VecDeque<Bytes>,
    queued_stanzas: usize,
    events: VecDeque<ComponentEvent>,
    stats: XmppStats,
}

impl Component {
    /// A link that will ask to connect at `now`.
    pub fn new(config: ComponentConfig, now: Instant) -> Self {
        Self {
            config,
            state: State::Disconnected { retry_at: now },
            attempt: 0,
            ping_seq: 0,
            transmits: VecDeque::new(),
            queued_stanzas: 0,
            events: VecDeque::new(),
            stats: XmppStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ComponentConfig {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> XmppStats {
        self.stats
    }

    /// The current state.
    pub fn state(&self) -> ComponentState {
        match &self.state {
            State::Disconnected { retry_at } => ComponentState::Disconnected {
                retry_at: *retry_at,
            },
            State::Connecting { .. } => ComponentState::Connecting,
            State::AwaitingStreamHeader { .. } => ComponentState::AwaitingStreamHeader,
            State::Handshaking { .. } => ComponentState::Handshaking,
            State::Online(_) => ComponentState::Online,
            State::Closed => ComponentState::Closed,
        }
    }

    /// Whether stanzas may be sent.
    pub fn is_online(&self) -> bool {
        matches!(self.state, State::Online(_))
    }

    /// Whether the driver should open a TCP connection now; if so the state
    /// becomes `Connecting` and the driver reports the outcome with
    /// [`Component::handle_connected`] or [`Component::handle_disconnected`].
    pub fn poll_connect(&mut self, now: Instant) -> bool {
        match self.state {
            State::Disconnected { retry_at } if now >= retry_at => {
                self.state = State::Connecting {
                    deadline: now + self.config.connect_timeout,
                };
                self.stats.connects = self.stats.connects.saturating_add(1);
                debug!(attempt = self.attempt, "xmpp component connecting");
                true
            }
            _ => false,
        }
    }

    /// The TCP connection is open: sends the stream header (XEP-0114 §3).
    pub fn handle_connected(&mut self, _now: Instant) {
        let State::Connecting { deadline } = self.state else {
            debug!("handle_connected while not connecting: ignored");
            return;
        };
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(b"<?xml version='1.0'?><stream:stream xmlns='");
        out.extend_from_slice(NS_COMPONENT.as_bytes());
        out.extend_from_slice(b"' xmlns:stream='http://etherx.jabber.org/streams' to='");
        out.extend_from_slice(self.config.domain.to_string().as_bytes());
        out.extend_from_slice(b"'>");
        self.transmits.push_back(Bytes::from(out));
        self.state = State::AwaitingStreamHeader {
            deadline,
            parser: Box::new(StreamParser::new(self.config.limits.clone())),
        };
    }

    /// Bytes read from the connection.
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8], rng: &mut impl Rng) {
        match &mut self.state {
            State::AwaitingStreamHeader { parser, .. } | State::Handshaking { parser, .. } => {
                parser.feed(bytes);
            }
            State::Online(on) => {
                on.parser.feed(bytes);
                if !bytes.is_empty() {
                    on.last_rx = on.last_rx.max(now);
                    // Any inbound byte proves liveness (XEP-0199 §4.2).
                    on.ping = None;
                }
            }
            State::Disconnected { .. } | State::Connecting { .. } | State::Closed => {
                trace!(len = bytes.len(), "bytes while not connected: ignored");
                return;
            }
        }
        loop {
            let item = match &mut self.state {
                State::AwaitingStreamHeader { parser, .. } | State::Handshaking { parser, .. } => {
                    parser.next_item()
                }
                State::Online(on) => on.parser.next_item(),
                _ => return,
            };
            match item {
                Ok(None) => return,
                Ok(Some(item)) => self.on_item(now, item, rng),
                Err(e) if !e.is_fatal() && self.is_online() => {
                    self.stats.parse_errors = self.stats.parse_errors.saturating_add(1);
                    warn!(error = %e, "xmpp stanza refused");
                    self.events.push_back(ComponentEvent::StanzaRefused(e));
                }
                Err(e) => {
                    self.stats.parse_errors = self.stats.parse_errors.saturating_add(1);
                    warn!(error = %e, "xmpp stream refused");
                    let cond = e.condition();
                    let mut out = Vec::new();
                    write_stream_error(cond, &mut out);
                    out.extend_from_slice(b"</stream:stream>");
                    self.transmits.push_back(Bytes::from(out));
                    self.go_offline(now, DisconnectReason::LocalStreamError(cond), rng);
                    return;
                }
            }
        }
    }

    /// The TCP connection failed to open, ended or broke.
    pub fn handle_disconnected(
        &mut self,
        now: Instant,
        reason: DisconnectReason,
        rng: &mut impl Rng,
    ) {
        match self.state {
            State::Disconnected { .. } | State::Closed => {
                debug!(?reason, "disconnect while not connected: ignored");
            }
            _ => self.go_offline(now, reason, rng),
        }
    }

    /// Time passed: handshake deadline, ping and ping timeout.
    pub fn handle_timeout(&mut self, now: Instant, rng: &mut impl Rng) {
        match &mut self.state {
            State::Disconnected { .. } | State::Closed => {}
            State::Connecting { deadline }
            | State::AwaitingStreamHeader { deadline, .. }
            | State::Handshaking { deadline, .. } => {
                if now >= *deadline {
                    self.go_offline(now, DisconnectReason::HandshakeTimeout, rng);
                }
            }
            State::Online(on) => match &on.ping {
                Some((_, sent)) => {
                    if now >= *sent + self.config.ping_timeout {
                        self.stats.ping_timeouts = self.stats.ping_timeouts.saturating_add(1);
                        warn!("xmpp component ping timeout");
                        self.go_offline(now, DisconnectReason::PingTimeout, rng);
                    }
                }
                None => {
                    if now >= on.last_rx + self.config.ping_interval {
                        self.ping_seq = self.ping_seq.wrapping_add(1);
                        let id = format!("cpim-ping-{}", self.ping_seq);
                        on.ping = Some((id.clone(), now));
                        let ping =
                            Iq::ping(self.config.domain.clone(), self.config.ping_to.clone(), id)
                                .to_element();
                        if let Ok(b) = ping.to_bytes(NS_COMPONENT) {
                            self.transmits.push_back(Bytes::from(b));
                            self.stats.pings_sent = self.stats.pings_sent.saturating_add(1);
                        }
                    }
                }
            },
        }
    }

    /// The earliest instant `handle_timeout` (or `poll_connect`) has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Disconnected { retry_at } => Some(*retry_at),
            State::Connecting { deadline }
            | State::AwaitingStreamHeader { deadline, .. }
            | State::Handshaking { deadline, .. } => Some(*deadline),
            State::Online(on) => Some(match &on.ping {
                Some((_, sent)) => *sent + self.config.ping_timeout,
                None => on.last_rx + self.config.ping_interval,
            }),
            State::Closed => None,
        }
    }

    /// Next bytes to write on the connection, in order.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        let b = self.transmits.pop_front()?;
        // Stanza count is approximate across control writes; it only bounds memory.
        self.queued_stanzas = self.queued_stanzas.saturating_sub(1);
        Some(b)
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<ComponentEvent> {
        self.events.pop_front()
    }

    /// Queues a stanza (XEP-0114 §2: `from` under the component domain, `to`
    /// present). Only while online; bounded by `max_queued_stanzas`.
    pub fn send_stanza(&mut self, stanza: &Element) -> Result<(), SendError> {
        if !self.is_online() {
            return Err(SendError::NotOnline);
        }
        let from = stanza.attr("from");
        let ok = from
            .and_then(|f| Jid::parse(f).ok())
            .is_some_and(|j| j.is_under_domain(self.config.domain.domain()));
        if !ok {
            return Err(SendError::BadFrom {
                from: from.map(str::to_owned),
            });
        }
        if stanza.attr("to").is_none() {
            return Err(SendError::MissingTo);
        }
        if self.queued_stanzas >= self.config.max_queued_stanzas {
            return Err(SendError::QueueFull {
                max: self.config.max_queued_stanzas,
            });
        }
        let bytes = stanza.to_bytes(NS_COMPONENT)?;
        self.transmits.push_back(Bytes::from(bytes));
        self.queued_stanzas = self.queued_stanzas.saturating_add(1);
        self.stats.stanzas_out = self.stats.stanzas_out.saturating_add(1);
        Ok(())
    }

    /// Closes for good: `</stream:stream>` if connected, then `Closed`.
    pub fn close(&mut self, _now: Instant) {
        let was_connected = !matches!(self.state, State::Disconnected { .. } | State::Closed);
        if matches!(self.state, State::Closed) {
            return;
        }
        if matches!(
            self.state,
            State::Online(_) | State::Handshaking { .. } | State::AwaitingStreamHeader { .. }
        ) {
            self.transmits
                .push_back(Bytes::from_static(b"</stream:stream>"));
        }
        self.state = State::Closed;
        if was_connected {
            self.stats.disconnects = self.stats.disconnects.saturating_add(1);
        }
        self.events.push_back(ComponentEvent::Offline {
            reason: DisconnectReason::Shutdown,
            retry_at: None,
        });
    }

    fn on_item(&mut self, now: Instant, item: StreamItem, rng: &mut impl Rng) {
        let state = std::mem::replace(&mut self.state, State::Closed);
        self.state = match (state, item) {
            (State::AwaitingStreamHeader { deadline, parser }, StreamItem::Header(h)) => {
                let Some(id) = h.id else {
                    self.state = State::AwaitingStreamHeader { deadline, parser };
                    self.fail_stream(now, StreamCondition::InvalidXml, rng);
                    return;
                };
                let digest = handshake_digest(&id, &self.config.secret);
                let mut out = Vec::with_capacity(64);
                out.extend_from_slice(b"<handshake>");
                out.extend_from_slice(digest.as_bytes());
                out.extend_from_slice(b"</handshake>");
                self.transmits.push_back(Bytes::from(out));
                debug!("xmpp component handshake sent");
                State::Handshaking { deadline, parser }
            }
            (State::Handshaking { parser, .. }, StreamItem::Stanza(el))
                if el.is("handshake", NS_COMPONENT) =>
            {
                self.stats.handshakes_ok = self.stats.handshakes_ok.saturating_add(1);
                self.events.push_back(ComponentEvent::Online);
                debug!("xmpp component online");
                State::Online(Box::new(Online {
                    parser: *parser,
                    since: now,
                    last_rx: now,
                    ping: None,
                }))
            }
            (State::Online(on), StreamItem::Stanza(el)) => {
                self.state = State::Online(on);
                self.on_stanza(el);
                return;
            }
            (s, StreamItem::Error(info)) => {
                self.state = s;
                let handshaking = matches!(
                    self.state,
                    State::Handshaking { .. } | State::AwaitingStreamHeader { .. }
                );
                if handshaking && info.condition == StreamCondition::NotAuthorized {
                    self.stats.auth_failures = self.stats.auth_failures.saturating_add(1);
                    warn!("xmpp component secret refused");
                    self.events.push_back(ComponentEvent::AuthFailed);
                    self.go_offline(now, DisconnectReason::AuthFailed, rng);
                } else {
                    warn!(condition = %info.condition, "xmpp stream error from server");
                    self.transmits
                        .push_back(Bytes::from_static(b"</stream:stream>"));
                    self.go_offline(now, DisconnectReason::PeerStreamError(info.condition), rng);
                }
                return;
            }
            (s, StreamItem::Close) => {
                self.state = s;
                self.transmits
                    .push_back(Bytes::from_static(b"</stream:stream>"));
                self.go_offline(now, DisconnectReason::PeerClosed, rng);
                return;
            }
            (s, _) => {
                // A header twice, or a stanza before the handshake completed.
                self.state = s;
                self.fail_stream(now, StreamCondition::BadFormat, rng);
                return;
            }
        };
    }

    fn on_stanza(&mut self, el: Element) {
        let State::Online(on) = &mut self.state else {
            return;
        };
        if el.is("iq", NS_COMPONENT) {
            // Our ping's answer (result or error both prove liveness).
            let ours = el.attr("id").is_some_and(|id| id.starts_with("cpim-ping-"))
                && matches!(el.attr("type"), Some("result" | "error"));
            if ours {
                on.ping = None;
                return;
            }
            // The server's XEP-0199 ping to us: answered here.
            if let Ok(iq) = Iq::parse(&el)
                && iq.kind == IqType::Get
                && iq.payload.as_ref().is_some_and(|p| p.is("ping", NS_PING))
                && let Ok(b) = iq.result(None).to_element().to_bytes(NS_COMPONENT)
            {
                self.transmits.push_back(Bytes::from(b));
                return;
            }
        }
        self.stats.stanzas_in = self.stats.stanzas_in.saturating_add(1);
        self.events.push_back(ComponentEvent::Stanza(el));
    }

    fn fail_stream(&mut self, now: Instant, cond: StreamCondition, rng: &mut impl Rng) {
        let mut out = Vec::new();
        write_stream_error(cond, &mut out);
        out.extend_from_slice(b"</stream:stream>");
        self.transmits.push_back(Bytes::from(out));
        self.go_offline(now, DisconnectReason::LocalStreamError(cond), rng);
    }

    fn go_offline(&mut self, now: Instant, reason: DisconnectReason, rng: &mut impl Rng) {
        if let State::Online(on) = &self.state
            && now.saturating_duration_since(on.since) >= self.config.stable_after
        {
            self.attempt = 0;
        }
        let delay = if reason == DisconnectReason::AuthFailed {
            self.config.auth_failure_backoff
        } else {
            let b = Backoff {
                min: self.config.backoff_min,
                max: self.config.backoff_max,
            };
            let d = b.delay(self.attempt, rng);
            self.attempt = self.attempt.saturating_add(1);
            d
        };
        let retry_at = now + delay;
        if !matches!(self.state, State::Connecting { .. }) {
            self.stats.disconnects = self.stats.disconnects.saturating_add(1);
        }
        // Queued stanzas are dropped with the connection: the gateway
        // learns of it through `Offline` and answers their senders.
        // Closing bytes stay for the driver to flush, unless the socket is
        // already gone: nothing may leak into the next connection.
        let socket_gone = matches!(
            reason,
            DisconnectReason::ConnectFailed | DisconnectReason::ConnectionLost
        );
        self.transmits.retain(|b| {
            !socket_gone && (b.starts_with(b"<stream:error>") || b.as_ref() == b"</stream:stream>")
        });
        self.queued_stanzas = 0;
        self.state = State::Disconnected { retry_at };
        debug!(?reason, ?delay, "xmpp component offline");
        self.events.push_back(ComponentEvent::Offline {
            reason,
            retry_at: Some(retry_at),
        });
    }
}

/// XEP-0114 §3: lowercase hex SHA-1 of the stream id followed by the secret.
pub fn handshake_digest(stream_id: &str, secret: &Secret) -> String {
    let mut h = Sha1::new();
    h.update(stream_id.as_bytes());
    h.update(secret.expose().as_bytes());
    let d = h.finalize();
    let mut s = String::with_capacity(40);
    for b in d.iter() {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// The server a component is attached to: the component domain minus its
/// first label (`cpim.xmpp.test` → `xmpp.test`), as XEP-0114 deployments
/// name them; the component domain itself if it has one label.
pub(crate) fn server_domain(component: &Jid) -> &str {
    component
        .domain()
        .split_once('.')
        .map_or(component.domain(), |(_, rest)| rest)
}

const HEX: &[u8; 16] = b"0123456789abcdef";
