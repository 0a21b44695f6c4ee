// The reference solution is graded by the exercise's own tests, so the two can
// never drift apart: the name `exercise04` below *is* this crate.
extern crate solution04 as exercise04;

#[path = "../../../exercises/exercise04/tests/grade/main.rs"]
mod grade;
