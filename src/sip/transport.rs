//! The transports the SIP binding speaks (RFC 3261 §18) and the transmit
//! descriptor cores hand to the driver.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;

/// A SIP transport. `Tcp` and `Tls` are reliable: Timers E/G are not used
/// and Timers J/K/I are zero (RFC 3261 §17.1.2.2, §17.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Stream transport framed by Content-Length (RFC 3261 §18.3).
    Tcp,
    /// Datagram transport; one message per datagram.
    Udp,
    /// TLS over TCP (RFC 3261 §26.2.1), framed like TCP. The transport of
    /// `sips:` URIs (RFC 5630 §3) and of `_sips._tcp` SRV targets (RFC 3263
    /// §4.1). Certificates and the connection live in `src/io/`; the core
    /// only names the server it expects (RFC 5922 §4).
    Tls,
}

impl Transport {
    /// Whether the transport is reliable in the RFC 3261 §17 sense.
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Tls)
    }

    /// The token used in Via and `transport=` URI parameters.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "TCP",
            Transport::Udp => "UDP",
            Transport::Tls => "TLS",
        }
    }

    /// Parses a Via transport token or a `transport=` parameter value,
    /// case-insensitively.
    pub fn parse(s: &str) -> Option<Transport> {
        if s.eq_ignore_ascii_case("udp") {
            Some(Transport::Udp)
        } else if s.eq_ignore_ascii_case("tcp") {
            Some(Transport::Tcp)
        } else if s.eq_ignore_ascii_case("tls") {
            Some(Transport::Tls)
        } else {
            None
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bytes a core wants sent: where, over what, and the encoded message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Destination address.
    pub dst: SocketAddr,
    /// Transport to send over. For TCP the driver reuses or opens a
    /// connection to `dst`. For TLS a plain `Transmit` (a response) goes on
    /// the connection the request came in on; a new outbound TLS request is
    /// `Output::SendSipTls`, which also names the server to verify.
    pub transport: Transport,
    /// The complete encoded SIP message.
    pub payload: Bytes,
}
