//! The SIP binding's protocol core: the message model (a facade over the
//! `rsipstack::sip` fork, RFC 3261 §7), stream framing (§18.3), resource
//! limits, and the transaction layer (§17). No IO, no clock reads: time and
//! bytes come in, transmits and events come out.
//!
//! What it does not do: routing, policy or translation (see `gateway` and
//! `translate`), and sockets (see `io`).

pub mod dialog;
pub mod error;
pub mod frame;
pub mod limits;
pub mod message;
pub mod method;
pub mod status;
pub mod transaction;
pub mod transport;

pub use error::{ParseError, ParseErrorKind};
pub use frame::{Framed, frame};
pub use limits::Limits;
pub use message::{
    CSeq, Message, NameAddr, OutgoingRequest, OutgoingResponse, Request, Response, Salvaged,
    SipUri, Via, parse, salvage,
};
pub use method::Method;
pub use status::StatusCode;
pub use transport::{Transmit, Transport};
