// The reference solution is graded by the exercise's own tests, so the two can
// never drift apart: the name `exercise03` below *is* this crate.
extern crate solution03 as exercise03;

#[path = "../../../exercises/exercise03/tests/grade/main.rs"]
mod grade;
