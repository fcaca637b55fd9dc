//! Transaction-layer counters (plain `u64`s). The layer only counts;
//! turning them into metrics is the metrics layer's business (house style
//! G.27).

use super::timer::Timer;

/// Counters since the layer was created. Plain numbers; exporting them is
/// the metrics layer's business.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransactionStats {
    /// Server transactions created.
    pub server_created: u64,
    /// Server transactions terminated and removed.
    pub server_terminated: u64,
    /// Server transactions alive now.
    pub server_active: u64,
    /// Client transactions created.
    pub client_created: u64,
    /// Client transactions terminated and removed.
    pub client_terminated: u64,
    /// Client transactions alive now.
    pub client_active: u64,
    /// Messages queued again: requests by Timer E, responses by Timer G or
    /// in answer to a retransmitted request.
    pub retransmissions_sent: u64,
    /// Retransmissions absorbed: repeated requests and ACKs at server
    /// transactions, repeated responses at client transactions in Completed.
    pub retransmissions_absorbed: u64,
    /// ACKs that found no transaction awaiting them.
    pub stray_acks: u64,
    /// Responses that matched no client transaction.
    pub stray_responses: u64,
    /// Transport errors that terminated a client transaction.
    pub transport_errors: u64,
    /// Timer firings, per timer. F and H are the transaction timeouts.
    pub timers_fired: TimerCounts,
    /// Calls whose `now` was earlier than a previous call's (treated as no
    /// progress).
    pub clock_went_backwards: u64,
}

/// How often each [`Timer`] fired.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerCounts {
    /// Timer E: non-INVITE request retransmissions.
    pub e: u64,
    /// Timer F: non-INVITE client timeouts.
    pub f: u64,
    /// Timer G: INVITE final response retransmissions.
    pub g: u64,
    /// Timer H: INVITE server timeouts (no ACK).
    pub h: u64,
    /// Timer I: Confirmed INVITE server transactions ending.
    pub i: u64,
    /// Timer J: Completed non-INVITE server transactions ending.
    pub j: u64,
    /// Timer K: Completed non-INVITE client transactions ending.
    pub k: u64,
}

impl TimerCounts {
    pub(super) fn count(&mut self, timer: Timer) {
        let n = match timer {
            Timer::E => &mut self.e,
            Timer::F => &mut self.f,
            Timer::G => &mut self.g,
            Timer::H => &mut self.h,
            Timer::I => &mut self.i,
            Timer::J => &mut self.j,
            Timer::K => &mut self.k,
        };
        *n = n.saturating_add(1);
    }
}
