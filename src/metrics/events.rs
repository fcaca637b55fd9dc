//! Families fed by the core's events as they happen: one count per finished
//! leg of a CPIM operation (`cpim_gateway_operations_total`) and its
//! duration (`cpim_gateway_operation_duration_seconds`). The driver hands
//! every [`GatewayEvent`] to [`Recorder::observe`]; everything else the
//! gateway exports is read from counters at scrape time (`snapshot.rs`).
//!
//! Label values come from closed sets (our enums, SIP status numbers,
//! RFC 6120 §8.3.3 conditions), never from peer text, so the number of
//! series stays bounded.

use std::fmt::Write as _;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::gateway::{Binding, Direction, GatewayEvent, NativeCode, OperationKind, Outcome};

/// Histogram buckets (seconds): from sub-millisecond refusals to RFC 3261
/// Timer F (64·T1 = 32 s with the default T1).
pub const DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 8.0, 32.0,
];

/// Labels of `cpim_gateway_operations_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    binding: &'static str,
    direction: &'static str,
    kind: &'static str,
    outcome: &'static str,
    code: Code,
}

/// Labels of `cpim_gateway_operation_duration_seconds`: one leg.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LegLabels {
    binding: &'static str,
    direction: &'static str,
    kind: &'static str,
}

/// The `code` label: a SIP status number, an XMPP condition, or `none`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct Code(NativeCode);

impl EncodeLabelValue for Code {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        match self.0 {
            NativeCode::Sip(n) => write!(encoder, "{n}"),
            NativeCode::Xmpp(c) => encoder.write_str(c),
            NativeCode::None => encoder.write_str("none"),
        }
    }
}

type DurationFamily = Family<LegLabels, Histogram, fn() -> Histogram>;

/// Records operation events into their families. Cheap to clone (the
/// families are shared); the driver owns one.
#[derive(Clone, Debug)]
pub struct Recorder {
    operations: Family<OperationLabels, Counter>,
    durations: DurationFamily,
}

impl Recorder {
    /// Registers the event families into `registry`.
    pub(super) fn register(registry: &mut Registry) -> Recorder {
        let operations = Family::<OperationLabels, Counter>::default();
        registry.register(
            "operations",
            "Finished legs of CPIM operations (RFC 3860/3859) by binding, direction, kind, CPIM outcome and native code (SIP status or XMPP condition)",
            operations.clone(),
        );
        let durations: DurationFamily = Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "operation_duration",
            "Time per leg: inbound from arrival to answer, outbound from first send to final answer or timeout",
            Unit::Seconds,
            durations.clone(),
        );
        // The legs that exist today show up (at zero) before any traffic.
        for binding in [Binding::Sip, Binding::Xmpp] {
            for direction in [Direction::Inbound, Direction::Outbound] {
                let _ = durations.get_or_create(&LegLabels {
                    binding: binding_label(binding),
                    direction: direction_label(direction),
                    kind: kind_label(OperationKind::Message),
                });
            }
        }
        Recorder {
            operations,
            durations,
        }
    }

    /// Counts what `event` reports; events without a metric are ignored.
    pub fn observe(&self, event: &GatewayEvent) {
        let GatewayEvent::Operation(op) = event else {
            return;
        };
        let binding = binding_label(op.binding);
        let direction = direction_label(op.direction);
        let kind = kind_label(op.kind);
        self.operations
            .get_or_create(&OperationLabels {
                binding,
                direction,
                kind,
                outcome: outcome_label(op.outcome),
                code: Code(op.code),
            })
            .inc();
        self.durations
            .get_or_create(&LegLabels {
                binding,
                direction,
                kind,
            })
            .observe(op.elapsed.as_secs_f64());
    }
}

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

fn binding_label(b: Binding) -> &'static str {
    match b {
        Binding::Sip => "sip",
        Binding::Xmpp => "xmpp",
    }
}

fn direction_label(d: Direction) -> &'static str {
    match d {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
    }
}

fn kind_label(k: OperationKind) -> &'static str {
    match k {
        OperationKind::Message => "message",
        OperationKind::Notify => "notify",
        OperationKind::Subscribe => "subscribe",
    }
}

fn outcome_label(o: Outcome) -> &'static str {
    match o {
        Outcome::Failure => "failure",
        Outcome::Indeterminate => "indeterminate",
        Outcome::Success => "success",
    }
}
