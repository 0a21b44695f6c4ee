// The reference solution is graded by the exercise's own tests, so the two can
// never drift apart: the name `exercise07` below *is* this crate.
extern crate solution07 as exercise07;

#[path = "../../../exercises/exercise07/tests/grade/main.rs"]
mod grade;
