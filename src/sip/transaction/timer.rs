//! The RFC 3261 §17 transaction timers (Table 4 in Appendix A) and the
//! deadline index that drives them.
//!
//! [`Timer`] names the timers as the RFC does; [`Timer::initial`] is the
//! table of their first values per transport. [`TimerTable`] is one ordered
//! index of `(deadline, owner, timer)` shared by every transaction, so the
//! earliest deadline is a `first()` away and `handle_timeout` touches only
//! the entries that are due. Each transaction keeps its own [`Armed`] slots
//! so cancelling a timer is a direct removal, not a scan.
//!
//! Not here: what a firing timer does (that is each state machine's
//! `on_timer`), and timers A, B and D, which belong to the INVITE client
//! transaction (§17.1.1) that the gateway never runs.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::sip::transport::Transport;

use super::{ClientHandle, ServerHandle, TransactionConfig};

/// An RFC 3261 §17 transaction timer (Appendix A, Table 4).
///
/// Timers A (INVITE request retransmit), B (INVITE transaction timeout) and
/// D (wait time for response retransmits) belong to the INVITE client
/// transaction (§17.1.1.2). The gateway never sends INVITE, so they are
/// deliberately absent: an unused variant would only add dead match arms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// Non-INVITE request retransmit interval, unreliable transports only
    /// (§17.1.2.2): first T1, then doubling up to T2 in Trying, T2 in
    /// Proceeding.
    E,
    /// Non-INVITE client transaction timeout (§17.1.2.2): 64·T1.
    F,
    /// INVITE final response retransmit interval, unreliable transports only
    /// (§17.2.1): first T1, then doubling up to T2.
    G,
    /// Wait time for the ACK to an INVITE final response (§17.2.1): 64·T1.
    H,
    /// Wait time for ACK retransmits in Confirmed (§17.2.1): T4 on
    /// unreliable transports, 0 on reliable ones.
    I,
    /// Wait time for non-INVITE request retransmits in Completed (§17.2.2):
    /// 64·T1 on unreliable transports, 0 on reliable ones.
    J,
    /// Wait time for response retransmits in Completed (§17.1.2.2): T4 on
    /// unreliable transports, 0 on reliable ones.
    K,
}

impl Timer {
    /// The first value of the timer on `transport` (RFC 3261 Table 4).
    ///
    /// `None` means the timer is not used on that transport (E and G on a
    /// reliable one). `Some(Duration::ZERO)` means the wait is skipped: the
    /// state machine moves on at once instead of arming a timer.
    pub fn initial(self, config: &TransactionConfig, transport: Transport) -> Option<Duration> {
        let reliable = transport.is_reliable();
        let t1x64 = config.t1.saturating_mul(64);
        match self {
            Timer::E | Timer::G => (!reliable).then_some(config.t1),
            Timer::F | Timer::H => Some(t1x64),
            Timer::I | Timer::K => Some(if reliable { Duration::ZERO } else { config.t4 }),
            Timer::J => Some(if reliable { Duration::ZERO } else { t1x64 }),
        }
    }

    /// Position of the timer in an [`Armed`] slot array.
    fn slot(self) -> usize {
        match self {
            Timer::E => 0,
            Timer::F => 1,
            Timer::G => 2,
            Timer::H => 3,
            Timer::I => 4,
            Timer::J => 5,
            Timer::K => 6,
        }
    }
}

/// The transaction a timer belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Owner {
    Client(ClientHandle),
    Server(ServerHandle),
}

/// The deadlines one transaction has armed, one slot per [`Timer`].
#[derive(Debug, Default)]
pub(super) struct Armed([Option<Instant>; 7]);

impl Armed {
    /// Forgets the deadline of `timer` (after the index popped it).
    pub(super) fn clear(&mut self, timer: Timer) {
        if let Some(slot) = self.0.get_mut(timer.slot()) {
            *slot = None;
        }
    }

    fn replace(&mut self, timer: Timer, at: Option<Instant>) -> Option<Instant> {
        self.0
            .get_mut(timer.slot())
            .and_then(|slot| std::mem::replace(slot, at))
    }
}

/// All armed deadlines of all transactions, ordered by time.
///
/// Entries are `(deadline, owner, timer)`; a transaction has at most one
/// deadline per timer, so entries are unique. Insert, cancel and pop are
/// O(log n); [`TimerTable::next`] is O(log n) with no allocation.
#[derive(Debug, Default)]
pub(super) struct TimerTable {
    index: BTreeSet<(Instant, Owner, Timer)>,
}

impl TimerTable {
    /// Arms `timer` of `owner` at `at`, replacing an earlier deadline.
    pub(super) fn arm(&mut self, armed: &mut Armed, owner: Owner, timer: Timer, at: Instant) {
        if let Some(old) = armed.replace(timer, Some(at)) {
            self.index.remove(&(old, owner, timer));
        }
        self.index.insert((at, owner, timer));
    }

    /// Disarms `timer` of `owner` if it is armed.
    pub(super) fn cancel(&mut self, armed: &mut Armed, owner: Owner, timer: Timer) {
        if let Some(old) = armed.replace(timer, None) {
            self.index.remove(&(old, owner, timer));
        }
    }

    /// Disarms every timer of `owner` (it is being removed).
    pub(super) fn cancel_all(&mut self, armed: &mut Armed, owner: Owner) {
        for timer in [
            Timer::E,
            Timer::F,
            Timer::G,
            Timer::H,
            Timer::I,
            Timer::J,
            Timer::K,
        ] {
            self.cancel(armed, owner, timer);
        }
    }

    /// The earliest armed deadline.
    pub(super) fn next(&self) -> Option<Instant> {
        self.index.first().map(|(at, _, _)| *at)
    }

    /// Removes and returns the earliest entry if it is due at `now`. The
    /// caller must [`Armed::clear`] the owner's slot.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<(Owner, Timer)> {
        match self.index.first() {
            Some((at, _, _)) if *at <= now => self
                .index
                .pop_first()
                .map(|(_, owner, timer)| (owner, timer)),
            Some(_) | None => None,
        }
    }

    /// Number of armed deadlines (for tests and leak checks).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.index.len()
    }
}

/// `now + after`, never panicking. An absurd duration (one that overflows
/// `Instant`) is capped at a year; if even that overflows the deadline is
/// `now`, so the transaction ends rather than lingering forever.
pub(super) fn deadline(now: Instant, after: Duration) -> Instant {
    now.checked_add(after)
        .or_else(|| now.checked_add(YEAR))
        .unwrap_or(now)
}

const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);
