//! The non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8).
//!
//! Trying → Proceeding when the TU sends a 1xx, Trying/Proceeding →
//! Completed when it sends a final response, Completed → Terminated when
//! Timer J fires (at once on a reliable transport). A retransmitted request
//! is absorbed; in Proceeding and Completed it re-sends the last response.
//!
//! This file holds only the state machine. Matching requests (§17.2.3) and
//! removing terminated transactions belong to the layer in `mod.rs`.
//! Transport errors while sending a response (§17.2.4) are not reported
//! here: the driver owns the socket and the gateway has nothing to retry.

use bytes::Bytes;

use crate::sip::status::StatusCode;

use super::timer::Timer;
use super::{Cx, Next, ServerHandle, ServerVerdict, TransactionError, TransactionState};

/// The live states of Figure 8 (a terminated transaction is removed).
#[derive(Debug)]
pub(super) enum NonInviteServer {
    /// The request was passed to the TU; no response yet.
    Trying,
    /// The TU sent a provisional response.
    Proceeding {
        /// The last provisional, re-sent on each request retransmission.
        provisional: Bytes,
    },
    /// The TU sent a final response.
    Completed {
        /// The final response, re-sent on each request retransmission.
        response: Bytes,
    },
}

impl NonInviteServer {
    /// The state as the public API reports it.
    pub(super) fn state(&self) -> TransactionState {
        match self {
            NonInviteServer::Trying => TransactionState::Trying,
            NonInviteServer::Proceeding { .. } => TransactionState::Proceeding,
            NonInviteServer::Completed { .. } => TransactionState::Completed,
        }
    }

    /// A retransmission of the request arrived (§17.2.2).
    pub(super) fn on_request(&mut self, cx: &mut Cx<'_>) -> ServerVerdict {
        cx.absorbed();
        match self {
            NonInviteServer::Trying => {}
            NonInviteServer::Proceeding { provisional } => cx.resend(provisional.clone()),
            NonInviteServer::Completed { response } => cx.resend(response.clone()),
        }
        ServerVerdict::Retransmission
    }

    /// The TU passed a response down (§17.2.2).
    pub(super) fn on_respond(
        &mut self,
        handle: ServerHandle,
        status: StatusCode,
        encoded: Bytes,
        cx: &mut Cx<'_>,
    ) -> Result<Next, TransactionError> {
        match self {
            NonInviteServer::Trying | NonInviteServer::Proceeding { .. }
                if status.is_provisional() =>
            {
                if matches!(self, NonInviteServer::Trying) {
                    tracing::debug!(?handle, %status, "server transaction trying -> proceeding");
                }
                cx.send(encoded.clone());
                *self = NonInviteServer::Proceeding {
                    provisional: encoded,
                };
                Ok(Next::Stay)
            }
            NonInviteServer::Trying | NonInviteServer::Proceeding { .. } => {
                tracing::debug!(?handle, %status, "server transaction -> completed");
                cx.send(encoded.clone());
                *self = NonInviteServer::Completed { response: encoded };
                Ok(cx.arm_wait(Timer::J))
            }
            // §17.2.2: further responses from the TU are discarded.
            NonInviteServer::Completed { .. } => Err(TransactionError::AlreadyFinal),
        }
    }

    /// `timer` fired (its slot is already cleared).
    pub(super) fn on_timer(&mut self, timer: Timer) -> Next {
        match timer {
            Timer::J => match self {
                NonInviteServer::Completed { .. } => Next::Terminate,
                // J is armed only on entering Completed.
                NonInviteServer::Trying | NonInviteServer::Proceeding { .. } => Next::Stay,
            },
            // Never armed for a non-INVITE server transaction.
            Timer::E | Timer::F | Timer::G | Timer::H | Timer::I | Timer::K => Next::Stay,
        }
    }
}
