//! Step 1 — Checked arithmetic.

use super::*;

/// `op.apply(a, b)`, or a failed test that says it panicked instead of returning.
fn apply(op: Op, a: i64, b: i64, expected: &Result<i64, TaskError>) -> Result<i64, TaskError> {
    panic::catch_unwind(|| op.apply(a, b)).unwrap_or_else(|payload| {
        panic!(
            "{a} {op} {b} panicked ({:?}) instead of returning {expected:?}: \
             a task's failure is a value, and plain `/` or `+` panic on ÷0 and overflow; {}",
            panic_text(&*payload),
            ARITHMETIC.hint()
        )
    })
}

#[test]
fn step1_op_apply_computes_the_four_operations() {
    let cases = [
        (Op::Add, 10, 5, 15),
        (Op::Subtract, 100, 37, 63),
        (Op::Multiply, 7, 8, 56),
        (Op::Divide, 17, 5, 3),
        (Op::Divide, -17, 5, -3),
    ];
    for (op, a, b, expected) in cases {
        let expected = Ok(expected);
        assert_eq!(
            apply(op, a, b, &expected),
            expected,
            "{a} {op} {b}: expected the left value (division is integer division), got the \
             right one; {}",
            ARITHMETIC.hint()
        );
    }
}

#[test]
fn step1_op_apply_reports_errors_instead_of_panicking() {
    let expected = Err(TaskError::DivisionByZero);
    assert_eq!(
        apply(Op::Divide, 6, 0, &expected),
        expected,
        "dividing by zero must be the error result DivisionByZero; {}",
        ARITHMETIC.hint()
    );
    for (op, a, b) in [
        (Op::Add, i64::MAX, 1),
        (Op::Subtract, i64::MIN, 1),
        (Op::Multiply, i64::MAX, 2),
        (Op::Divide, i64::MIN, -1),
    ] {
        let expected = Err(TaskError::Overflow { op, a, b });
        assert_eq!(
            apply(op, a, b, &expected),
            expected,
            "{a} {op} {b} overflows i64: use the checked_* methods; {}",
            ARITHMETIC.hint()
        );
    }
}
