//! Public vocabulary of the component link: its configuration (with the
//! redacted [`Secret`]), its observable state, the reasons it goes down,
//! the events it reports and the errors of `send_stanza`.

use std::fmt;
use std::time::{Duration, Instant};

use crate::xmpp::element::{Element, WriteError};
use crate::xmpp::jid::Jid;
use crate::xmpp::stream::{StreamCondition, StreamError, StreamLimits};

/// The shared secret (XEP-0114 §3). Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself; only for computing the handshake.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Settings of the component link, with documented defaults.
#[derive(Clone, Debug)]
pub struct ComponentConfig {
    /// The component JID (a bare domain, e.g. `cpim.xmpp.test`).
    pub domain: Jid,
    /// The shared secret.
    pub secret: Secret,
    /// Quiet time before a XEP-0199 ping. Default 30 s.
    pub ping_interval: Duration,
    /// Time for any inbound byte after a ping. Default 10 s.
    pub ping_timeout: Duration,
    /// First reconnect delay. Default 1 s.
    pub backoff_min: Duration,
    /// Reconnect delay cap. Default 60 s.
    pub backoff_max: Duration,
    /// Delay after `<not-authorized/>` (no jitter, no growth). Default 300 s:
    /// a wrong secret is an operator problem, never a reconnect storm.
    pub auth_failure_backoff: Duration,
    /// Online this long resets the backoff. Default 60 s.
    pub stable_after: Duration,
    /// Limit for TCP connect plus handshake. Default 10 s.
    pub connect_timeout: Duration,
    /// Stanzas waiting in the outbound queue. Default 1024.
    pub max_queued_stanzas: usize,
    /// Framer limits.
    pub limits: StreamLimits,
    /// Where XEP-0199 pings go: the server's domain. Default: the component
    /// domain minus its first label (`cpim.xmpp.test` → `xmpp.test`), the
    /// usual naming of a component under its server.
    pub ping_to: Jid,
}

impl ComponentConfig {
    /// Defaults for `domain` and `secret`.
    pub fn new(domain: Jid, secret: Secret) -> Self {
        let ping_to = Jid::from_parts(None, super::server_domain(&domain), None)
            .unwrap_or_else(|_| domain.clone());
        Self {
            ping_to,
            domain,
            secret,
            ping_interval: Duration::from_secs(30),
            ping_timeout: Duration::from_secs(10),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            auth_failure_backoff: Duration::from_secs(300),
            stable_after: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_queued_stanzas: 1024,
            limits: StreamLimits::default(),
        }
    }
}

/// The link state, as seen from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ComponentState {
    /// No connection; `poll_connect` says yes from `retry_at` on.
    Disconnected {
        /// Next attempt.
        retry_at: Instant,
    },
    /// A TCP connection was asked for.
    Connecting,
    /// Stream header sent, waiting for the server's.
    AwaitingStreamHeader,
    /// `<handshake>` sent.
    Handshaking,
    /// Stanzas flow.
    Online,
    /// Closed for good by [`Component::close`].
    Closed,
}

/// Why the link went down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The driver could not open the TCP connection.
    ConnectFailed,
    /// The driver saw the TCP connection end or fail.
    ConnectionLost,
    /// Connect plus handshake took longer than `connect_timeout`.
    HandshakeTimeout,
    /// No inbound byte within `ping_timeout` after a ping.
    PingTimeout,
    /// The server refused the handshake (`<not-authorized/>`).
    AuthFailed,
    /// The server closed the stream.
    PeerClosed,
    /// The server sent `<stream:error>`.
    PeerStreamError(StreamCondition),
    /// We refused the server's stream with this condition.
    LocalStreamError(StreamCondition),
    /// [`Component::close`].
    Shutdown,
}

/// Things reported upward.
#[derive(Debug)]
#[non_exhaustive]
pub enum ComponentEvent {
    /// The handshake succeeded; stanzas may be sent.
    Online,
    /// The link went down; `retry_at` is the next attempt (`None` once closed).
    Offline {
        /// Why.
        reason: DisconnectReason,
        /// When `poll_connect` will say yes again.
        retry_at: Option<Instant>,
    },
    /// The secret was refused (XEP-0114 §3); followed by `Offline`.
    AuthFailed,
    /// A stanza from the server.
    Stanza(Element),
    /// A framed stanza that did not parse; skipped, the link goes on.
    StanzaRefused(StreamError),
}

/// Why [`Component::send_stanza`] refused a stanza.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The link is not online.
    #[error("component link is not online")]
    NotOnline,
    /// The outbound queue holds `max` stanzas already.
    #[error("outbound queue full ({max} stanzas)")]
    QueueFull {
        /// The bound.
        max: usize,
    },
    /// `from` is missing or not under the component domain (XEP-0114 §2).
    #[error("stanza from {from:?} is not under the component domain")]
    BadFrom {
        /// The `from` given.
        from: Option<String>,
    },
    /// `to` is missing (XEP-0114 §2).
    #[error("stanza has no to")]
    MissingTo,
    /// The stanza cannot be serialised (e.g. a control character).
    #[error("stanza not writable")]
    Write(#[from] WriteError),
}
