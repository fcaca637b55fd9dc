//! The one place that picks a wire status for an outcome or an error.
//!
//! - SIP final status ⇄ CPIM [`Response`] (RFC 3860 §3.4.1: success,
//!   failure, indeterminate, plus the native code as detail).
//! - CPIM response → SIP status on the inbound leg, through the reviewable
//!   table `mappings/sip-status.toml` (RFC 3261 §8.1.3.2, §16.7; RFC 7332 §5).
//! - Gateway errors (translation faults, policy refusals) → SIP status.
//!
//! Parse faults of incoming SIP map to a status in `sip::error` (the parser
//! owns its fault taxonomy); everything else is decided here.

use std::collections::HashMap;

use serde::Deserialize;

use crate::cpim::{NativeDetail, Response, Status, TransId};
use crate::gateway::policy::Refusal;
use crate::route::{FailureClass, RouteError};
use crate::sip::StatusCode;
use crate::translate::TranslateError;

/// The embedded SIP relay status table.
pub const SIP_STATUS_TABLE: &str = include_str!("../../mappings/sip-status.toml");

/// The SIP ⇄ SIP relay status table.
#[derive(Clone, Debug)]
pub struct StatusTable {
    map: HashMap<u16, StatusCode>,
}

/// Why a status table does not load.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// Not valid TOML or not the expected shape.
    #[error("status table: {0}")]
    Toml(#[from] toml::de::Error),
    /// A code outside 100..=699, or a row mapping a final to a provisional.
    #[error("status table row {row}: invalid code {code}")]
    BadCode {
        /// Row number, 1-based.
        row: usize,
        /// The offending code.
        code: u16,
    },
    /// The same `from` twice.
    #[error("status table row {row}: duplicate mapping for {code}")]
    Duplicate {
        /// Row number, 1-based.
        row: usize,
        /// The duplicated code.
        code: u16,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    map: Vec<Row>,
}

/// One row of `mappings/sip-status.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    /// Received code.
    pub from: u16,
    /// Returned code.
    pub to: u16,
    /// Why (documentation only).
    pub why: String,
}

impl StatusTable {
    /// Parses a table.
    pub fn parse(src: &str) -> Result<StatusTable, TableError> {
        let file: TableFile = toml::from_str(src)?;
        let mut map = HashMap::new();
        for (i, row) in file.map.iter().enumerate() {
            let row_no = i + 1;
            let from =
                StatusCode::new(row.from)
                    .filter(|c| c.is_final())
                    .ok_or(TableError::BadCode {
                        row: row_no,
                        code: row.from,
                    })?;
            let to =
                StatusCode::new(row.to)
                    .filter(|c| c.is_final())
                    .ok_or(TableError::BadCode {
                        row: row_no,
                        code: row.to,
                    })?;
            if map.insert(from.as_u16(), to).is_some() {
                return Err(TableError::Duplicate {
                    row: row_no,
                    code: row.from,
                });
            }
        }
        Ok(StatusTable { map })
    }

    /// The embedded table (`mappings/sip-status.toml`).
    pub fn builtin() -> StatusTable {
        // The embedded file is parsed by a unit test, so this cannot fail at
        // run time unless the test suite was skipped.
        #[allow(clippy::expect_used)]
        StatusTable::parse(SIP_STATUS_TABLE).expect("embedded mappings/sip-status.toml is valid")
    }

    /// The rows of the embedded table, for tests and documentation.
    pub fn builtin_rows() -> Vec<Row> {
        toml::from_str::<TableFile>(SIP_STATUS_TABLE)
            .map(|f| f.map)
            .unwrap_or_default()
    }

    /// Maps a final status received on the outbound leg to the status for
    /// the inbound leg. 2xx keeps its code; an unrecognised code becomes
    /// `x00` first (RFC 3261 §8.1.3.2); unlisted codes pass unchanged.
    pub fn relay(&self, received: StatusCode) -> StatusCode {
        if received.is_success() {
            return received;
        }
        let code = if received.is_known() {
            received
        } else {
            received.class_default()
        };
        self.map.get(&code.as_u16()).copied().unwrap_or(code)
    }

    /// The SIP status to send on the inbound leg for a CPIM response.
    pub fn sip_status(&self, response: &Response) -> StatusCode {
        let native = match response.detail {
            Some(NativeDetail::Sip(code)) => StatusCode::new(code),
            _ => None,
        };
        match (response.status, native) {
            (Status::Success, Some(code)) if code.is_success() => code,
            (Status::Success, _) => StatusCode::OK,
            (Status::Indeterminate, _) => StatusCode::ACCEPTED,
            (Status::Failure, Some(code)) if code.is_final() && !code.is_success() => {
                self.relay(code)
            }
            (Status::Failure, _) if matches!(response.detail, Some(NativeDetail::Timeout)) => {
                StatusCode::REQUEST_TIMEOUT
            }
            (Status::Failure, _) => StatusCode::SERVER_INTERNAL_ERROR,
        }
    }
}

/// The CPIM response for a SIP final status received from a peer
/// (RFC 3860 §3.4.1): 2xx other than 202 is success, 202 is indeterminate
/// (the peer accepted it but delivery is unknown), 3xx–6xx are failure.
/// The native code is always kept as detail.
pub fn cpim_response(trans_id: TransId, received: StatusCode) -> Response {
    let status = if received == StatusCode::ACCEPTED {
        Status::Indeterminate
    } else if received.is_success() {
        Status::Success
    } else {
        Status::Failure
    };
    Response {
        trans_id,
        status,
        detail: Some(NativeDetail::Sip(received.as_u16())),
    }
}

/// The CPIM response for a client transaction timeout (Timer F).
pub fn cpim_timeout(trans_id: TransId) -> Response {
    Response {
        trans_id,
        status: Status::Failure,
        detail: Some(NativeDetail::Timeout),
    }
}

impl From<&TranslateError> for StatusCode {
    fn from(e: &TranslateError) -> StatusCode {
        match e {
            TranslateError::TooManyHops => StatusCode::TOO_MANY_HOPS,
            TranslateError::UnsupportedScheme(_) | TranslateError::SipsWithoutTls => {
                StatusCode::UNSUPPORTED_URI_SCHEME
            }
            TranslateError::NoUser(_) => StatusCode::NOT_FOUND,
            TranslateError::MissingContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            TranslateError::BadAddress { .. } => StatusCode::BAD_REQUEST,
        }
    }
}

/// RFC 3861 / RFC 3263 routing failures (issue 4 "operations mapping";
/// RFC 7247 §7): NXDOMAIN or nothing published → 404; service not offered
/// (`.` target) → 404; DNS timeout → 408; every target failed → 503 (the
/// gateway adds Retry-After); a destination the gateway cannot route at all
/// (bad host, transport not enabled, no binding) → 502.
impl From<&RouteError> for StatusCode {
    fn from(e: &RouteError) -> StatusCode {
        match e.class() {
            FailureClass::NotFound | FailureClass::NotOffered => StatusCode::NOT_FOUND,
            FailureClass::Timeout => StatusCode::REQUEST_TIMEOUT,
            FailureClass::Unreachable => StatusCode::SERVICE_UNAVAILABLE,
            FailureClass::Local => StatusCode::BAD_GATEWAY,
        }
    }
}

/// Policy refusals: 403, except an exhausted rate limit, which is 503 (the
/// gateway adds Retry-After): the sender may try again later.
impl From<&Refusal> for StatusCode {
    fn from(r: &Refusal) -> StatusCode {
        match r {
            Refusal::RateLimited { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::FORBIDDEN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc(c: u16) -> StatusCode {
        StatusCode::new(c).unwrap()
    }

    #[test]
    fn every_row_of_the_embedded_table_is_applied() {
        let table = StatusTable::builtin();
        let rows = StatusTable::builtin_rows();
        assert!(!rows.is_empty());
        for row in rows {
            assert_eq!(
                table.relay(sc(row.from)),
                sc(row.to),
                "row {} -> {}: {}",
                row.from,
                row.to,
                row.why
            );
            // And through the CPIM pivot.
            let resp = cpim_response(TransId::from_native("t"), sc(row.from));
            assert_eq!(resp.status, Status::Failure);
            assert_eq!(table.sip_status(&resp), sc(row.to));
        }
    }

    #[test]
    fn unlisted_and_unknown_codes() {
        let table = StatusTable::builtin();
        assert_eq!(table.relay(sc(404)), sc(404));
        assert_eq!(table.relay(sc(486)), sc(486));
        assert_eq!(table.relay(sc(603)), sc(603));
        // Unknown 4xx becomes 400; unknown 5xx becomes 500.
        assert_eq!(table.relay(sc(499)), sc(400));
        assert_eq!(table.relay(sc(599)), sc(500));
        assert_eq!(table.relay(sc(299)), sc(299));
    }

    #[test]
    fn cpim_status_classes() {
        let table = StatusTable::builtin();
        let t = || TransId::from_native("x");
        assert_eq!(cpim_response(t(), sc(200)).status, Status::Success);
        assert_eq!(cpim_response(t(), sc(202)).status, Status::Indeterminate);
        assert_eq!(cpim_response(t(), sc(404)).status, Status::Failure);
        assert_eq!(table.sip_status(&cpim_response(t(), sc(200))), sc(200));
        assert_eq!(table.sip_status(&cpim_response(t(), sc(202))), sc(202));
        assert_eq!(table.sip_status(&cpim_timeout(t())), sc(408));
    }

    #[test]
    fn bad_tables_are_refused() {
        assert!(matches!(
            StatusTable::parse("[[map]]\nfrom = 99\nto = 400\nwhy = 'x'\n"),
            Err(TableError::BadCode { row: 1, code: 99 })
        ));
        assert!(matches!(
            StatusTable::parse(
                "[[map]]\nfrom = 404\nto = 400\nwhy = 'x'\n[[map]]\nfrom = 404\nto = 410\nwhy = 'y'\n"
            ),
            Err(TableError::Duplicate { row: 2, code: 404 })
        ));
        assert!(StatusTable::parse("[[map]]\nfrom = 404\nto = 400\n").is_err());
    }
}
