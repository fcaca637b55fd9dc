//! RFC 2782 target ordering: the order in which a client contacts the
//! targets of an SRV record set.
//!
//! Records are grouped by priority, lowest first, and strictly so: no target
//! of a higher priority value is tried before every lower one. Inside a
//! priority the order is a weighted random permutation built with the
//! running-sum selection RFC 2782 ("Usage rules") describes, zero-weight
//! records placed first so they get only a small chance. A record set whose
//! only usable content is target `.` means the service is decidedly not
//! available at the domain.
//!
//! The randomness is injected (house style A.7): callers pass their seeded
//! RNG, so a fixed seed gives a fixed order. This module does no DNS and
//! knows nothing about ports or transports beyond the record fields.

use rand::Rng;
use rand::seq::SliceRandom;

use crate::route::records::Srv;

/// The outcome of ordering an SRV record set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SrvOrder {
    /// The set was empty (the caller treats it like "no SRV records").
    NoRecords,
    /// Every record had target `.`: the service is decidedly not available
    /// at this domain (RFC 2782, "Target"; RFC 3861 §5).
    NotOffered,
    /// The usable records in the order to try them. Records with target `.`
    /// mixed into a non-empty set are dropped: they cannot be contacted.
    Ordered(Vec<Srv>),
}

/// Orders `records` for contact as RFC 2782 ("Usage rules") describes.
///
/// For each priority, ascending: the group is shuffled (the RFC allows "any
/// order"), zero-weight records are moved to the front, and then targets are
/// drawn one at a time by picking a uniform number in `0..=sum` of the
/// remaining weights and taking the first record whose running sum reaches
/// it. Zero-weight records are thus picked first only when the draw is 0.
pub fn order_srv<R: Rng + ?Sized>(records: impl IntoIterator<Item = Srv>, rng: &mut R) -> SrvOrder {
    let all: Vec<Srv> = records.into_iter().collect();
    if all.is_empty() {
        return SrvOrder::NoRecords;
    }
    let mut usable: Vec<Srv> = all.into_iter().filter(|s| !s.is_not_offered()).collect();
    if usable.is_empty() {
        return SrvOrder::NotOffered;
    }
    usable.sort_by_key(|s| s.priority);
    let mut out = Vec::with_capacity(usable.len());
    let mut rest = usable.as_slice();
    while let Some(first) = rest.first() {
        let cut = rest
            .iter()
            .position(|s| s.priority != first.priority)
            .unwrap_or(rest.len());
        let (group, tail) = rest.split_at(cut);
        out.extend(order_group(group.to_vec(), rng));
        rest = tail;
    }
    SrvOrder::Ordered(out)
}

/// The weighted permutation of one priority group.
fn order_group<R: Rng + ?Sized>(mut group: Vec<Srv>, rng: &mut R) -> Vec<Srv> {
    group.shuffle(rng);
    // Stable: zero weights first, the rest keep their shuffled order.
    group.sort_by_key(|s| s.weight != 0);
    let mut out = Vec::with_capacity(group.len());
    while !group.is_empty() {
        let sum: u64 = group.iter().map(|s| u64::from(s.weight)).sum();
        let pick = rng.random_range(0..=sum);
        let mut running = 0u64;
        let idx = group
            .iter()
            .position(|s| {
                running += u64::from(s.weight);
                running >= pick
            })
            .unwrap_or(0);
        out.push(group.remove(idx));
    }
    out
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn srv(priority: u16, weight: u16, target: &str) -> Srv {
        Srv {
            priority,
            weight,
            port: 5060,
            target: target.to_owned(),
        }
    }

    fn targets(order: SrvOrder) -> Vec<String> {
        match order {
            SrvOrder::Ordered(v) => v.into_iter().map(|s| s.target).collect(),
            other => panic!("expected an order, got {other:?}"),
        }
    }

    fn sample() -> Vec<Srv> {
        vec![
            srv(20, 10, "d."),
            srv(10, 10, "a."),
            srv(10, 20, "b."),
            srv(10, 70, "c."),
            srv(20, 0, "e."),
        ]
    }

    #[test]
    fn seeded_rng_gives_a_stable_order() {
        let first = targets(order_srv(sample(), &mut StdRng::seed_from_u64(7)));
        assert_eq!(first, ["b.", "c.", "a.", "d.", "e."]);
        for _ in 0..5 {
            assert_eq!(
                targets(order_srv(sample(), &mut StdRng::seed_from_u64(7))),
                first
            );
        }
    }

    #[test]
    fn priorities_are_strictly_respected() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..500 {
            let order = targets(order_srv(sample(), &mut rng));
            let pos = |t: &str| order.iter().position(|x| x == t).unwrap_or(usize::MAX);
            for low in ["a.", "b.", "c."] {
                for high in ["d.", "e."] {
                    assert!(pos(low) < pos(high), "{order:?}");
                }
            }
            assert_eq!(order.len(), 5);
        }
    }

    #[test]
    fn first_pick_follows_weights_within_three_points() {
        let set = vec![srv(10, 10, "a."), srv(10, 20, "b."), srv(10, 70, "c.")];
        let mut rng = StdRng::seed_from_u64(2782);
        let mut counts = [0u32; 3];
        const DRAWS: u32 = 10_000;
        for _ in 0..DRAWS {
            let order = targets(order_srv(set.clone(), &mut rng));
            let i = ["a.", "b.", "c."]
                .iter()
                .position(|t| order.first().map(String::as_str) == Some(t));
            if let Some(c) = i.and_then(|i| counts.get_mut(i)) {
                *c += 1;
            }
        }
        for (count, weight) in counts.iter().zip([10.0, 20.0, 70.0]) {
            let pct = f64::from(*count) * 100.0 / f64::from(DRAWS);
            assert!(
                (pct - weight).abs() < 3.0,
                "share {pct}% vs weight {weight}%: {counts:?}"
            );
        }
    }

    #[test]
    fn zero_weight_gets_only_a_small_chance() {
        let set = vec![srv(0, 0, "zero."), srv(0, 100, "heavy.")];
        let mut rng = StdRng::seed_from_u64(3);
        let zero_first = (0..10_000)
            .filter(|_| {
                targets(order_srv(set.clone(), &mut rng))
                    .first()
                    .map(String::as_str)
                    == Some("zero.")
            })
            .count();
        // Only a draw of 0 out of 0..=100 selects it: about 1%.
        assert!(zero_first > 0 && zero_first < 300, "{zero_first}");
    }

    #[test]
    fn all_zero_weights_are_still_all_returned() {
        let set = vec![srv(0, 0, "a."), srv(0, 0, "b."), srv(0, 0, "c.")];
        let mut order = targets(order_srv(set, &mut StdRng::seed_from_u64(9)));
        order.sort();
        assert_eq!(order, ["a.", "b.", "c."]);
    }

    #[test]
    fn dot_target_means_not_offered() {
        let mut rng = StdRng::seed_from_u64(0);
        assert_eq!(
            order_srv(vec![srv(0, 0, ".")], &mut rng),
            SrvOrder::NotOffered
        );
        assert_eq!(order_srv(Vec::new(), &mut rng), SrvOrder::NoRecords);
        // A `.` among real targets is dropped, not obeyed.
        assert_eq!(
            targets(order_srv(vec![srv(0, 0, "."), srv(5, 1, "x.")], &mut rng)),
            ["x."]
        );
    }
}
