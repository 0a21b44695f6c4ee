//! Tasks whose right answer chaos knows in advance, so that every final state can
//! be checked: arithmetic on random operands (the answer computed here, not by
//! the workbook's code), and a share of short sleeps, whose result is the
//! milliseconds slept — they keep leases open long enough for kills to land on
//! tasks in flight.

use rand::rngs::ChaCha12Rng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

/// One task to submit, and the result it must end with.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkable {
    /// The kind: `add`, `subtract`, `multiply`, `divide` or `sleep`.
    pub kind: &'static str,
    pub a: i64,
    pub b: i64,
    /// For a sleep, the milliseconds.
    pub ms: u64,
    pub expected: i64,
}

impl Checkable {
    /// The arguments, as chapters 04–06 carry them next to the kind:
    /// `{"a": …, "b": …}` or `{"ms": …}`.
    pub fn args(&self) -> Value {
        if self.kind == "sleep" {
            json!({ "ms": self.ms })
        } else {
            json!({ "a": self.a, "b": self.b })
        }
    }

    /// Whether `result` is the right answer.
    pub fn is_right(&self, result: Option<&Value>) -> bool {
        result.and_then(Value::as_i64) == Some(self.expected)
    }
}

/// `count` tasks, the same for the same seed: one in `sleep_one_in` a sleep of
/// 5 to `sleep_ms_max` ms (never, if 0), the others arithmetic on operands up to
/// a million in size; divisions never by zero.
pub fn checkable_tasks(
    count: usize,
    seed: u64,
    sleep_one_in: u32,
    sleep_ms_max: u64,
) -> Vec<Checkable> {
    let mut rng = ChaCha12Rng::seed_from_u64(seed ^ 0x7A5C_0FF5);
    (0..count)
        .map(|_| {
            if sleep_one_in > 0 && rng.random_range(0..sleep_one_in) == 0 {
                let ms = rng.random_range(5..=sleep_ms_max.max(5));
                return Checkable {
                    kind: "sleep",
                    a: 0,
                    b: 0,
                    ms,
                    expected: ms as i64,
                };
            }
            let a: i64 = rng.random_range(-1_000_000..=1_000_000);
            let b: i64 = rng.random_range(1..=1_000);
            let b = if rng.random_bool(0.5) { b } else { -b };
            let (kind, expected) = match rng.random_range(0..4) {
                0 => ("add", a + b),
                1 => ("subtract", a - b),
                2 => ("multiply", a * b),
                // Integer division, rounding toward zero as i64 does.
                _ => ("divide", a / b),
            };
            Checkable {
                kind,
                a,
                b,
                ms: 0,
                expected,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_reproducible_and_mixed() {
        let tasks = checkable_tasks(1000, 3, 10, 50);
        assert_eq!(tasks, checkable_tasks(1000, 3, 10, 50));
        let sleeps = tasks.iter().filter(|t| t.kind == "sleep").count();
        assert!((50..=160).contains(&sleeps), "{sleeps} sleeps");
        for kind in ["add", "subtract", "multiply", "divide"] {
            assert!(tasks.iter().any(|t| t.kind == kind), "no {kind}");
        }
        assert!(tasks.iter().all(|t| t.kind == "sleep" || t.b != 0));
        let seven = Checkable {
            kind: "divide",
            a: -7,
            b: 2,
            ms: 0,
            expected: -3,
        };
        assert!(seven.is_right(Some(&json!(-3))));
        assert!(!seven.is_right(Some(&json!(-4))));
        assert!(!seven.is_right(None));
    }
}
