//! `verify book`'s second half on the tiny workspace: a listing of an exercised
//! body must be folded, after its step's "Your turn".

mod common;

use std::fs;

use common::{BOOK, Cleanup, scratch};
use workbook_tools::answers;
use workbook_tools::chapter::Chapter;

fn problems(dir: &std::path::Path, chapter_text: &str) -> Vec<String> {
    fs::write(dir.join("book/src/ch01-tiny.md"), chapter_text).expect("write");
    let chapter = Chapter::load(dir, "01").expect("loads");
    answers::check_book(dir, &[chapter])
}

#[test]
fn an_answer_must_come_folded_after_its_prompt() {
    let dir = scratch();
    let _cleanup = Cleanup(dir.clone());
    let include = "```rust\n{{#include ../../solutions/solution01/src/lib.rs:todo-double}}\n```\n";
    let prompts = "`cargo workbook check 01.1`\n\n`cargo workbook check 01.2`\n";

    let open = format!("{BOOK}\n{include}\n{prompts}");
    let found = problems(&dir, &open);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("todo double (step 01.1) openly"),
        "{found:?}"
    );

    let folded_early = format!(
        "{BOOK}\n<details><summary>Reference solution</summary>\n\n{include}\n</details>\n\n{prompts}"
    );
    let found = problems(&dir, &folded_early);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("before step 01.1's"), "{found:?}");

    let asks_first = format!(
        "{BOOK}\n{prompts}\n<details><summary>Reference solution</summary>\n\n{include}\n</details>\n"
    );
    assert_eq!(problems(&dir, &asks_first), Vec::<String>::new());

    let no_prompts = format!("{BOOK}\n");
    let found = problems(&dir, &no_prompts);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[1].contains("no \"Your turn\" for step 01.2"),
        "{found:?}"
    );
}
