//! The non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6).
//!
//! Trying → Proceeding on a 1xx, Trying/Proceeding → Completed on a final
//! response, Completed → Terminated when Timer K fires (at once on a
//! reliable transport). Timer E retransmits the stored request on
//! unreliable transports; Timer F ends the transaction with a timeout; a
//! transport error ends it at once (§17.1.4).
//!
//! This file holds only the state machine. Matching responses to the
//! transaction (§17.1.3), removing it and announcing its end are the
//! layer's job in `mod.rs`. The INVITE client transaction (§17.1.1) is not
//! implemented: the gateway never sends INVITE.

use std::time::Duration;

use bytes::Bytes;

use crate::sip::status::StatusCode;

use super::timer::Timer;
use super::{ClientHandle, Cx, Next, TransactionEvent, TransactionState};

/// The live states of Figure 6. Terminated is not a state here: a
/// terminated transaction is removed from the layer.
#[derive(Debug)]
pub(super) enum NonInviteClient {
    /// Request sent, nothing heard yet.
    Trying {
        /// The encoded request, re-sent by Timer E.
        request: Bytes,
        /// The value Timer E was last armed with (T1, then doubling up to
        /// T2). Unused on reliable transports, where E is never armed.
        e_interval: Duration,
    },
    /// A provisional response arrived; a final one is awaited.
    Proceeding {
        /// The encoded request, re-sent by Timer E every T2.
        request: Bytes,
    },
    /// A final response arrived and was passed up; retransmissions of it
    /// are absorbed until Timer K fires.
    Completed,
}

impl NonInviteClient {
    /// Enters Trying (§17.1.2.2): sends the request and arms Timer E (on an
    /// unreliable transport) and Timer F.
    pub(super) fn start(request: Bytes, cx: &mut Cx<'_>) -> NonInviteClient {
        cx.send(request.clone());
        let e_interval = match cx.initial(Timer::E) {
            Some(e) => {
                cx.arm(Timer::E, e);
                e
            }
            None => cx.config().t1,
        };
        if let Some(f) = cx.initial(Timer::F) {
            cx.arm(Timer::F, f);
        }
        NonInviteClient::Trying {
            request,
            e_interval,
        }
    }

    /// The state as the public API reports it.
    pub(super) fn state(&self) -> TransactionState {
        match self {
            NonInviteClient::Trying { .. } => TransactionState::Trying,
            NonInviteClient::Proceeding { .. } => TransactionState::Proceeding,
            NonInviteClient::Completed => TransactionState::Completed,
        }
    }

    /// A response matched this transaction (§17.1.2.2).
    pub(super) fn on_response(
        &mut self,
        handle: ClientHandle,
        status: StatusCode,
        cx: &mut Cx<'_>,
    ) -> Next {
        match self {
            NonInviteClient::Trying { request, .. } | NonInviteClient::Proceeding { request }
                if status.is_provisional() =>
            {
                // Timer E keeps its current deadline; once it fires in
                // Proceeding it is re-armed with T2.
                let request = request.clone();
                cx.emit(TransactionEvent::ClientResponse { handle, status });
                if matches!(self, NonInviteClient::Trying { .. }) {
                    tracing::debug!(?handle, %status, "client transaction trying -> proceeding");
                }
                *self = NonInviteClient::Proceeding { request };
                Next::Stay
            }
            NonInviteClient::Trying { .. } | NonInviteClient::Proceeding { .. } => {
                cx.cancel(Timer::E);
                cx.cancel(Timer::F);
                cx.emit(TransactionEvent::ClientResponse { handle, status });
                tracing::debug!(?handle, %status, "client transaction -> completed");
                *self = NonInviteClient::Completed;
                cx.arm_wait(Timer::K)
            }
            NonInviteClient::Completed => {
                // A retransmitted final (or a late provisional): absorbed,
                // the TU already has its answer.
                cx.absorbed();
                tracing::trace!(?handle, %status, "response absorbed in completed");
                Next::Stay
            }
        }
    }

    /// The transport reported a failure sending the request (§17.1.4).
    pub(super) fn on_transport_error(&mut self, handle: ClientHandle, cx: &mut Cx<'_>) -> Next {
        match self {
            NonInviteClient::Trying { .. } | NonInviteClient::Proceeding { .. } => {
                cx.emit(TransactionEvent::ClientTransportError { handle });
                tracing::debug!(?handle, "client transaction transport error -> terminated");
                Next::Terminate
            }
            // Nothing is sent in Completed and the TU has its final
            // response, so the error is not this transaction's; Timer K
            // still ends it.
            NonInviteClient::Completed => Next::Stay,
        }
    }

    /// `timer` fired (its slot is already cleared).
    pub(super) fn on_timer(&mut self, handle: ClientHandle, timer: Timer, cx: &mut Cx<'_>) -> Next {
        match timer {
            Timer::E => match self {
                NonInviteClient::Trying {
                    request,
                    e_interval,
                } => {
                    cx.resend(request.clone());
                    *e_interval = e_interval.saturating_mul(2).min(cx.config().t2);
                    let next = *e_interval;
                    cx.arm(Timer::E, next);
                    Next::Stay
                }
                NonInviteClient::Proceeding { request } => {
                    cx.resend(request.clone());
                    let t2 = cx.config().t2;
                    cx.arm(Timer::E, t2);
                    Next::Stay
                }
                // E is cancelled on entering Completed.
                NonInviteClient::Completed => Next::Stay,
            },
            Timer::F => match self {
                NonInviteClient::Trying { .. } | NonInviteClient::Proceeding { .. } => {
                    cx.emit(TransactionEvent::ClientTimeout { handle });
                    tracing::debug!(?handle, "client transaction timer F -> terminated");
                    Next::Terminate
                }
                // F is cancelled on entering Completed.
                NonInviteClient::Completed => Next::Stay,
            },
            Timer::K => match self {
                NonInviteClient::Completed => Next::Terminate,
                // K is armed only on entering Completed.
                NonInviteClient::Trying { .. } | NonInviteClient::Proceeding { .. } => Next::Stay,
            },
            // Server timers are never armed for a client transaction.
            Timer::G | Timer::H | Timer::I | Timer::J => Next::Stay,
        }
    }
}
