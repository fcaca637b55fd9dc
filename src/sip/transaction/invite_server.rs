//! The INVITE server transaction (RFC 3261 §17.2.1, Figure 7), in the
//! subset the gateway needs to reject an INVITE.
//!
//! Proceeding (the TU may send 1xx; a retransmitted INVITE re-sends the
//! last one) → Completed on a 300–699 final: Timer G re-sends the final on
//! unreliable transports, Timer H gives up waiting for the ACK → ACK moves
//! to Confirmed, where Timer I absorbs ACK retransmissions (zero on a
//! reliable transport) → Terminated.
//!
//! Not implemented: a 2xx from the TU (Proceeding → Terminated, with the
//! TU retransmitting the 2xx itself, §13.3.1.4). The gateway rejects every
//! INVITE with 488 or 606, so `respond` refuses a 2xx with a typed error.
//! The 100 Trying that §17.2.1 asks for within 200 ms is the TU's job: this
//! layer never builds messages, and the gateway answers at once anyway.

use std::time::Duration;

use bytes::Bytes;

use crate::sip::status::StatusCode;

use super::timer::Timer;
use super::{Cx, Next, ServerHandle, ServerVerdict, TransactionError, TransactionState};

/// The live states of Figure 7 (a terminated transaction is removed).
#[derive(Debug)]
pub(super) enum InviteServer {
    /// The INVITE was passed to the TU; no final response yet.
    Proceeding {
        /// The last provisional the TU sent, if any.
        provisional: Option<Bytes>,
    },
    /// A non-2xx final response was sent; waiting for the ACK.
    Completed {
        /// The final response, re-sent by Timer G and on INVITE
        /// retransmissions.
        response: Bytes,
        /// The value Timer G was last armed with (T1, doubling up to T2).
        /// Unused on reliable transports, where G is never armed.
        g_interval: Duration,
    },
    /// The ACK arrived; further ACKs and INVITEs are absorbed until Timer I.
    Confirmed,
}

impl InviteServer {
    /// The state a new INVITE server transaction starts in (§17.2.1).
    pub(super) fn new() -> InviteServer {
        InviteServer::Proceeding { provisional: None }
    }

    /// The state as the public API reports it.
    pub(super) fn state(&self) -> TransactionState {
        match self {
            InviteServer::Proceeding { .. } => TransactionState::Proceeding,
            InviteServer::Completed { .. } => TransactionState::Completed,
            InviteServer::Confirmed => TransactionState::Confirmed,
        }
    }

    /// A retransmitted INVITE arrived (§17.2.1).
    pub(super) fn on_request(&mut self, cx: &mut Cx<'_>) -> ServerVerdict {
        cx.absorbed();
        match self {
            InviteServer::Proceeding { provisional } => {
                if let Some(p) = provisional {
                    cx.resend(p.clone());
                }
            }
            InviteServer::Completed { response, .. } => cx.resend(response.clone()),
            InviteServer::Confirmed => {}
        }
        ServerVerdict::Retransmission
    }

    /// An ACK matched this transaction (§17.2.1).
    pub(super) fn on_ack(
        &mut self,
        handle: ServerHandle,
        cx: &mut Cx<'_>,
    ) -> (ServerVerdict, Next) {
        match self {
            // No final was sent, so this ACK cannot be for our response
            // (an ACK to a 2xx is end-to-end and never ours).
            InviteServer::Proceeding { .. } => {
                cx.core.stats.stray_acks += 1;
                (ServerVerdict::StrayAck, Next::Stay)
            }
            InviteServer::Completed { .. } => {
                cx.cancel(Timer::G);
                cx.cancel(Timer::H);
                tracing::debug!(?handle, "invite server transaction completed -> confirmed");
                *self = InviteServer::Confirmed;
                (ServerVerdict::AckAbsorbed, cx.arm_wait(Timer::I))
            }
            InviteServer::Confirmed => {
                cx.absorbed();
                (ServerVerdict::AckAbsorbed, Next::Stay)
            }
        }
    }

    /// The TU passed a response down (§17.2.1).
    pub(super) fn on_respond(
        &mut self,
        handle: ServerHandle,
        status: StatusCode,
        encoded: Bytes,
        cx: &mut Cx<'_>,
    ) -> Result<Next, TransactionError> {
        match self {
            InviteServer::Proceeding { .. } if status.is_provisional() => {
                cx.send(encoded.clone());
                *self = InviteServer::Proceeding {
                    provisional: Some(encoded),
                };
                Ok(Next::Stay)
            }
            InviteServer::Proceeding { .. } if status.is_success() => {
                Err(TransactionError::Unsupported2xxForInvite)
            }
            InviteServer::Proceeding { .. } => {
                tracing::debug!(?handle, %status, "invite server transaction proceeding -> completed");
                cx.send(encoded.clone());
                let g_interval = match cx.initial(Timer::G) {
                    Some(g) => {
                        cx.arm(Timer::G, g);
                        g
                    }
                    None => cx.config().t1,
                };
                if let Some(h) = cx.initial(Timer::H) {
                    cx.arm(Timer::H, h);
                }
                *self = InviteServer::Completed {
                    response: encoded,
                    g_interval,
                };
                Ok(Next::Stay)
            }
            InviteServer::Completed { .. } | InviteServer::Confirmed => {
                Err(TransactionError::AlreadyFinal)
            }
        }
    }

    /// `timer` fired (its slot is already cleared).
    pub(super) fn on_timer(&mut self, handle: ServerHandle, timer: Timer, cx: &mut Cx<'_>) -> Next {
        match timer {
            Timer::G => match self {
                InviteServer::Completed {
                    response,
                    g_interval,
                } => {
                    cx.resend(response.clone());
                    *g_interval = g_interval.saturating_mul(2).min(cx.config().t2);
                    let next = *g_interval;
                    cx.arm(Timer::G, next);
                    Next::Stay
                }
                // G runs only in Completed.
                InviteServer::Proceeding { .. } | InviteServer::Confirmed => Next::Stay,
            },
            Timer::H => match self {
                InviteServer::Completed { .. } => {
                    cx.emit(super::TransactionEvent::ServerTimeout { handle });
                    tracing::debug!(?handle, "invite server transaction timer H -> terminated");
                    Next::Terminate
                }
                // H is cancelled by the ACK.
                InviteServer::Proceeding { .. } | InviteServer::Confirmed => Next::Stay,
            },
            Timer::I => match self {
                InviteServer::Confirmed => Next::Terminate,
                // I is armed only on entering Confirmed.
                InviteServer::Proceeding { .. } | InviteServer::Completed { .. } => Next::Stay,
            },
            // Never armed for an INVITE server transaction.
            Timer::E | Timer::F | Timer::J | Timer::K => Next::Stay,
        }
    }
}
