//! The gateway's side of the XEP-0114 component link: it owns the sans-IO
//! [`Component`] machine, numbers each TCP connection attempt (so late
//! socket events from an old connection are ignored), turns the machine's
//! events into counters, and answers inbound stanzas.
//!
//! Inbound `<message>` stanzas go to `from_xmpp` (XMPP → SIP), and error
//! replies to our own stanzas to `to_xmpp`. Nothing else is served yet
//! (presence is issue 5), but no request is dropped silently: an
//! `<iq type='get|set'>` or a presence subscription/probe gets an error
//! reply (`cancel` / `<feature-not-implemented/>`, RFC 6120 §8.3.3.3) with a
//! text saying why. Error and result stanzas, and broadcast presence, are
//! not answered (RFC 6120 §8.3.1).

use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use crate::gateway::{Gateway, Output};
use crate::xmpp::stanza::error_reply;
use crate::xmpp::{
    Component, ComponentConfig, ComponentEvent, DisconnectReason, Element, ErrorCondition,
    ErrorType,
};

/// Where the component link goes.
#[derive(Clone, Debug)]
pub struct XmppLinkConfig {
    /// The XMPP server's component port.
    pub server: SocketAddr,
    /// Component identity, secret, timers.
    pub component: ComponentConfig,
    /// XMPP domains whose users are reached through the component.
    pub domains: Vec<crate::route::DomainPattern>,
    /// How SIP users appear on the XMPP side (RFC 7247 §6).
    pub address_mode: crate::translate::address::Mode,
    /// Wait for an XMPP error this long before answering 202.
    pub error_window: std::time::Duration,
    /// Wrap XMPP-originated text in `message/cpim` on the SIP side.
    pub wrap_cpim: bool,
    /// SIP destination domains that get `message/cpim` regardless.
    pub wrap_cpim_domains: Vec<crate::route::DomainPattern>,
    /// RFC 3994 `<refresh>` announced while an XMPP user composes.
    pub composing_refresh: std::time::Duration,
    /// Longest an XMPP `<composing/>` is refreshed without a change.
    pub composing_max_active: std::time::Duration,
}

/// The link state the gateway keeps.
#[derive(Debug)]
pub(super) struct XmppLink {
    pub(super) component: Component,
    server: SocketAddr,
    /// Id of the current (or last) connection attempt.
    conn: u64,
    pub(super) domains: Vec<crate::route::DomainPattern>,
    pub(super) address_mode: crate::translate::address::Mode,
    pub(super) error_window: std::time::Duration,
    pub(super) wrap_cpim: bool,
    pub(super) wrap_cpim_domains: Vec<crate::route::DomainPattern>,
    /// isComposing state in both directions (RFC 3994 timers).
    pub(super) composing: super::composing::ComposingTable,
    /// SIP MESSAGEs sent as stanzas, by stanza id, waiting for the window.
    pub(super) pending: std::collections::HashMap<String, super::to_xmpp::XmppPending>,
    /// Window deadlines, earliest first.
    pub(super) windows: std::collections::BTreeSet<(Instant, String)>,
}

/// Text of the error reply to stanzas the gateway cannot deliver yet.
const NOT_YET: &str = "this gateway does not serve this request (presence comes later)";

impl XmppLink {
    pub(super) fn new(config: XmppLinkConfig, now: Instant) -> XmppLink {
        XmppLink {
            component: Component::new(config.component, now),
            server: config.server,
            conn: 0,
            domains: config.domains,
            address_mode: config.address_mode,
            error_window: config.error_window,
            wrap_cpim: config.wrap_cpim,
            wrap_cpim_domains: config.wrap_cpim_domains,
            composing: super::composing::ComposingTable::new(
                config.composing_refresh,
                config.composing_max_active,
            ),
            pending: std::collections::HashMap::new(),
            windows: std::collections::BTreeSet::new(),
        }
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        [
            self.component.poll_timeout(),
            self.windows.first().map(|(t, _)| *t),
            self.composing.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Whether MESSAGEs from XMPP to `sip_domain` are wrapped in
    /// `message/cpim` (globally, or for that domain).
    pub(super) fn wraps_for(&self, sip_domain: &str) -> bool {
        self.wrap_cpim || self.wrap_cpim_domains.iter().any(|d| d.matches(sip_domain))
    }

    pub(super) fn is_online(&self) -> bool {
        self.component.is_online()
    }
}

impl Gateway {
    /// The driver opened connection `conn` to the XMPP server.
    pub fn handle_xmpp_connected(&mut self, now: Instant, conn: u64) {
        let now = self.clamp(now);
        if let Some(link) = self.xmpp.as_mut().filter(|l| l.conn == conn) {
            link.component.handle_connected(now);
        }
        self.pump(now);
    }

    /// Bytes read on connection `conn`.
    pub fn handle_xmpp_bytes(&mut self, now: Instant, conn: u64, bytes: &[u8]) {
        let now = self.clamp(now);
        // The XMPP stream's span: every stanza handled from these bytes
        // (and what it causes on the SIP side) is inside it.
        let span = tracing::info_span!("xmpp_stream", conn);
        let _in = span.enter();
        if let Some(link) = self.xmpp.as_mut().filter(|l| l.conn == conn) {
            link.component.handle_bytes(now, bytes, &mut self.rng);
        }
        self.pump(now);
    }

    /// Connection `conn` could not be opened (`connect_failed`) or ended.
    pub fn handle_xmpp_closed(&mut self, now: Instant, conn: u64, connect_failed: bool) {
        let now = self.clamp(now);
        if let Some(link) = self.xmpp.as_mut().filter(|l| l.conn == conn) {
            let reason = if connect_failed {
                DisconnectReason::ConnectFailed
            } else {
                DisconnectReason::ConnectionLost
            };
            link.component
                .handle_disconnected(now, reason, &mut self.rng);
        }
        self.pump(now);
    }

    /// Whether the component link is online (for readiness).
    pub fn xmpp_online(&self) -> bool {
        self.xmpp.as_ref().is_some_and(XmppLink::is_online)
    }

    /// Drives the component machine: connects, transmits, events.
    /// Returns whether stanzas were handled (which may have queued SIP
    /// answers for the caller to drain).
    pub(super) fn pump_xmpp(&mut self, now: Instant) -> bool {
        let inbound = self.drive_link(now);
        if inbound.is_empty() {
            return false;
        }
        for el in inbound {
            self.on_xmpp_stanza(now, el);
        }
        // Replies produced above.
        let _ = self.drive_link(now);
        true
    }

    /// Runs the component machine until it is quiet; returns the stanzas
    /// it received.
    fn drive_link(&mut self, now: Instant) -> Vec<Element> {
        let mut inbound = Vec::new();
        let Some(link) = self.xmpp.as_mut() else {
            return inbound;
        };
        for _ in 0..64 {
            let mut progressed = false;
            while let Some(ev) = link.component.poll_event() {
                progressed = true;
                match ev {
                    ComponentEvent::Online => {
                        tracing::info!(server = %link.server, "xmpp component link online");
                    }
                    ComponentEvent::Offline { reason, .. } => {
                        tracing::warn!(?reason, "xmpp component link offline");
                        // Flush what the machine still has (a stream error),
                        // then close this connection.
                        while let Some(b) = link.component.poll_transmit() {
                            self.out.push_back(Output::SendXmpp {
                                conn: link.conn,
                                bytes: b,
                            });
                        }
                        self.out.push_back(Output::CloseXmpp { conn: link.conn });
                    }
                    ComponentEvent::AuthFailed => {
                        tracing::error!(
                            "xmpp component handshake refused (not-authorized): check [xmpp] secret"
                        );
                    }
                    ComponentEvent::Stanza(el) => {
                        self.stats.xmpp_stanzas_in += 1;
                        inbound.push(el);
                    }
                    ComponentEvent::StanzaRefused(e) => {
                        tracing::debug!(error = %e, "xmpp stanza refused");
                    }
                }
            }
            while let Some(b) = link.component.poll_transmit() {
                progressed = true;
                self.out.push_back(Output::SendXmpp {
                    conn: link.conn,
                    bytes: b,
                });
            }
            if link.component.poll_connect(now) {
                progressed = true;
                link.conn += 1;
                self.out.push_back(Output::ConnectXmpp {
                    conn: link.conn,
                    addr: link.server,
                });
            }
            if !progressed {
                break;
            }
        }
        let s = link.component.stats();
        self.stats.xmpp_link_up = u64::from(link.component.is_online());
        self.stats.xmpp_connects = s.connects;
        self.stats.xmpp_auth_failures = s.auth_failures;
        self.stats.xmpp_disconnects = s.disconnects;
        inbound
    }

    /// A stanza from the XMPP server: an error for a MESSAGE we sent inside
    /// its window is mapped back to SIP; a request we cannot act on gets an
    /// error reply; anything else is not answered.
    fn on_xmpp_stanza(&mut self, now: Instant, el: Element) {
        let span = tracing::info_span!(
            "xmpp_stanza",
            kind = el.name(),
            r#type = el.attr("type").unwrap_or(""),
            id = el.attr("id").unwrap_or(""),
            from = %crate::redact::addr(el.attr("from").unwrap_or("")),
            to = %crate::redact::addr(el.attr("to").unwrap_or("")),
        );
        let _in = span.enter();
        tracing::debug!("xmpp stanza received");
        if el.name() == "message" && el.attr("type") == Some("error") {
            self.on_xmpp_message_error(now, &el);
            return;
        }
        if el.name() == "message" {
            self.on_xmpp_message(now, &el);
            return;
        }
        if el.name() == "presence" {
            self.on_xmpp_presence(now, &el);
            return;
        }
        let Some(link) = self.xmpp.as_mut() else {
            return;
        };
        if let Some(reply) = unanswerable_reply(&el) {
            self.stats.xmpp_errors_sent += 1;
            if let Err(e) = link.component.send_stanza(&reply) {
                tracing::debug!(error = %e, "could not send xmpp error reply");
            }
        }
    }

    pub(super) fn xmpp_timeout(&mut self, now: Instant) {
        if let Some(link) = self.xmpp.as_mut() {
            link.component.handle_timeout(now, &mut self.rng);
        }
        self.close_windows(now);
        self.composing_timeout(now);
    }
}

/// The error reply for an inbound stanza the gateway cannot act on yet, or
/// `None` when RFC 6120 says not to answer it.
fn unanswerable_reply(el: &Element) -> Option<Element> {
    let kind = el.attr("type").unwrap_or("");
    let answer = match el.name() {
        "message" => kind != "error",
        "iq" => kind == "get" || kind == "set",
        "presence" => matches!(kind, "subscribe" | "probe"),
        _ => false,
    };
    if !answer {
        return None;
    }
    error_reply(
        el,
        ErrorType::Cancel,
        ErrorCondition::FeatureNotImplemented,
        Some(NOT_YET),
    )
    .ok()
}

/// Bytes of an XMPP transmit (for tests).
#[allow(dead_code)]
pub(super) fn as_text(b: &Bytes) -> String {
    String::from_utf8_lossy(b).to_string()
}
