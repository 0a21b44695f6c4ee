// The reference solution is graded by the exercise's own tests, so the two can
// never drift apart: the name `exercise05` below *is* this crate.
extern crate solution05 as exercise05;

#[path = "../../../exercises/exercise05/tests/grade/main.rs"]
mod grade;
