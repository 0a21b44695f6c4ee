// The reference solution is graded by the exercise's own tests, so the two can
// never drift apart: the name `exercise02` below *is* this crate.
extern crate solution02 as exercise02;

#[path = "../../../exercises/exercise02/tests/grade/main.rs"]
mod grade;
