//! The transports the SIP binding speaks (RFC 3261 §18) and the transmit
//! descriptor cores hand to the driver.

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;

/// A SIP transport. `Tcp` is reliable: Timers E/G are not used and
/// Timers J/K/I are zero (RFC 3261 §17.1.2.2, §17.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Stream transport framed by Content-Length (RFC 3261 §18.3).
    Tcp,
    /// Datagram transport; one message per datagram.
    Udp,
}

impl Transport {
    /// Whether the transport is reliable in the RFC 3261 §17 sense.
    pub fn is_reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }

    /// The token used in Via and `transport=` URI parameters.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "TCP",
            Transport::Udp => "UDP",
        }
    }

    /// Parses a Via transport token or a `transport=` parameter value,
    /// case-insensitively.
    pub fn parse(s: &str) -> Option<Transport> {
        if s.eq_ignore_ascii_case("udp") {
            Some(Transport::Udp)
        } else if s.eq_ignore_ascii_case("tcp") {
            Some(Transport::Tcp)
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
    /// connection to `dst`.
    pub transport: Transport,
    /// The complete encoded SIP message.
    pub payload: Bytes,
}
