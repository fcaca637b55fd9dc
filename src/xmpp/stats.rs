//! Plain counters of the XMPP component link (house style G.27): the core
//! counts, `metrics/` exports.

/// Counters of one [`Component`](super::Component) since it was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct XmppStats {
    /// TCP connections requested (`poll_connect` returned true).
    pub connects: u64,
    /// Handshakes that reached Online.
    pub handshakes_ok: u64,
    /// `<not-authorized/>` answers to the handshake (XEP-0114 §3).
    pub auth_failures: u64,
    /// Times the link went down (from any connected state).
    pub disconnects: u64,
    /// Stanzas received while online.
    pub stanzas_in: u64,
    /// Stanzas sent (queued for transmit).
    pub stanzas_out: u64,
    /// Stanzas or streams refused by the framer.
    pub parse_errors: u64,
    /// XEP-0199 pings sent.
    pub pings_sent: u64,
    /// Links declared dead by the ping timeout.
    pub ping_timeouts: u64,
}
