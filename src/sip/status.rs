//! SIP status codes (RFC 3261 §7.2, §21) as a checked newtype, with the
//! default reason phrases.

use std::fmt;

/// A SIP status code in 100..=699. Built only by [`StatusCode::new`] or the
/// constants, so every value is valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

impl StatusCode {
    /// 100 Trying.
    pub const TRYING: StatusCode = StatusCode(100);
    /// 200 OK.
    pub const OK: StatusCode = StatusCode(200);
    /// 202 Accepted (RFC 3428 §7).
    pub const ACCEPTED: StatusCode = StatusCode(202);
    /// 400 Bad Request.
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    /// 403 Forbidden.
    pub const FORBIDDEN: StatusCode = StatusCode(403);
    /// 404 Not Found.
    pub const NOT_FOUND: StatusCode = StatusCode(404);
    /// 405 Method Not Allowed.
    pub const METHOD_NOT_ALLOWED: StatusCode = StatusCode(405);
    /// 408 Request Timeout.
    pub const REQUEST_TIMEOUT: StatusCode = StatusCode(408);
    /// 413 Request Entity Too Large.
    pub const REQUEST_ENTITY_TOO_LARGE: StatusCode = StatusCode(413);
    /// 414 Request-URI Too Long.
    pub const REQUEST_URI_TOO_LONG: StatusCode = StatusCode(414);
    /// 415 Unsupported Media Type.
    pub const UNSUPPORTED_MEDIA_TYPE: StatusCode = StatusCode(415);
    /// 416 Unsupported URI Scheme.
    pub const UNSUPPORTED_URI_SCHEME: StatusCode = StatusCode(416);
    /// 406 Not Acceptable (RFC 3261 §21.4.7).
    pub const NOT_ACCEPTABLE: StatusCode = StatusCode(406);
    /// 423 Interval Too Brief (RFC 3261 §21.4.17, RFC 6665 §4.2.1.1).
    pub const INTERVAL_TOO_BRIEF: StatusCode = StatusCode(423);
    /// 489 Bad Event (RFC 6665 §8.3.2).
    pub const BAD_EVENT: StatusCode = StatusCode(489);
    /// 420 Bad Extension.
    pub const BAD_EXTENSION: StatusCode = StatusCode(420);
    /// 481 Call/Transaction Does Not Exist.
    pub const CALL_DOES_NOT_EXIST: StatusCode = StatusCode(481);
    /// 482 Loop Detected.
    pub const LOOP_DETECTED: StatusCode = StatusCode(482);
    /// 483 Too Many Hops.
    pub const TOO_MANY_HOPS: StatusCode = StatusCode(483);
    /// 488 Not Acceptable Here.
    pub const NOT_ACCEPTABLE_HERE: StatusCode = StatusCode(488);
    /// 500 Server Internal Error.
    pub const SERVER_INTERNAL_ERROR: StatusCode = StatusCode(500);
    /// 501 Not Implemented.
    pub const NOT_IMPLEMENTED: StatusCode = StatusCode(501);
    /// 502 Bad Gateway.
    pub const BAD_GATEWAY: StatusCode = StatusCode(502);
    /// 503 Service Unavailable.
    pub const SERVICE_UNAVAILABLE: StatusCode = StatusCode(503);
    /// 505 Version Not Supported.
    pub const VERSION_NOT_SUPPORTED: StatusCode = StatusCode(505);
    /// 606 Not Acceptable.
    pub const NOT_ACCEPTABLE_GLOBAL: StatusCode = StatusCode(606);

    /// Checked constructor: `None` outside 100..=699.
    pub const fn new(code: u16) -> Option<StatusCode> {
        if code >= 100 && code <= 699 {
            Some(StatusCode(code))
        } else {
            None
        }
    }

    /// The numeric code.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// The class digit (1..=6).
    pub const fn class(self) -> u16 {
        self.0 / 100
    }

    /// 1xx.
    pub const fn is_provisional(self) -> bool {
        self.0 < 200
    }

    /// 2xx.
    pub const fn is_success(self) -> bool {
        self.0 >= 200 && self.0 < 300
    }

    /// 200..=699.
    pub const fn is_final(self) -> bool {
        self.0 >= 200
    }

    /// RFC 3261 §8.1.3.2: an unrecognised code is treated as `x00` of its class.
    pub fn class_default(self) -> StatusCode {
        StatusCode(self.class() * 100)
    }

    /// Whether the code is one the gateway recognises (it has a specific
    /// reason phrase below). Unrecognised codes are handled as `x00`
    /// (RFC 3261 §8.1.3.2).
    pub fn is_known(self) -> bool {
        known_reason(self.0).is_some()
    }

    /// The RFC 3261 §21 reason phrase (or the class phrase for other codes).
    pub fn reason(self) -> &'static str {
        if let Some(r) = known_reason(self.0) {
            return r;
        }
        match self.0 {
            c if c < 200 => "Provisional",
            c if c < 300 => "Success",
            c if c < 400 => "Redirection",
            c if c < 500 => "Client Error",
            c if c < 600 => "Server Error",
            _ => "Global Failure",
        }
    }
}

/// Reason phrases of the codes the gateway recognises (RFC 3261 §21 and the
/// extensions it meets: RFC 3428, RFC 6665).
fn known_reason(code: u16) -> Option<&'static str> {
    Some(match code {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        421 => "Extension Required",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        _ => return None,
    })
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_is_checked() {
        assert!(StatusCode::new(99).is_none());
        assert!(StatusCode::new(700).is_none());
        assert_eq!(StatusCode::new(699).map(StatusCode::class), Some(6));
        assert_eq!(
            StatusCode::new(499).map(|s| s.class_default()),
            Some(StatusCode(400))
        );
        assert_eq!(StatusCode::TOO_MANY_HOPS.reason(), "Too Many Hops");
    }
}
