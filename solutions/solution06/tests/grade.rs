// The reference solution is graded by the exercise's own tests, so the two can
// never drift apart: the name `exercise06` below *is* this crate.
extern crate solution06 as exercise06;

#[path = "../../../exercises/exercise06/tests/grade/main.rs"]
mod grade;
