//! Generated with the exercise: see `declare_todos_left`.

fn main() {
    declare_todos_left();
}

/// Generated with the exercise. While a todo's `todo!()` is still in its file, its
/// function may leave parameters unused (cfg `workbook_todo_<id>`); while any is
/// left, helpers only it will call may look unused (cfg `workbook_todos_left`).
/// Replace a `todo!()` and the compiler warns about your own code again.
fn declare_todos_left() {
    const TODOS: &[(&str, &str)] = &[
        ("spawn-and-join", "src/spawn_join.rs"),
        ("increment-from-threads", "src/shared_counter.rs"),
        ("collect-from-producers", "src/fan_in.rs"),
        ("run-on-threads", "src/sleep_tasks.rs"),
    ];
    println!("cargo::rustc-check-cfg=cfg(workbook_todos_left)");
    let mut any_left = false;
    for (id, file) in TODOS {
        let cfg = format!("workbook_todo_{}", id.replace('-', "_"));
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        println!("cargo::rerun-if-changed={file}");
        let text = std::fs::read_to_string(file).unwrap_or_default();
        if text.contains(&format!("\"{id} — book:")) {
            println!("cargo::rustc-cfg={cfg}");
            any_left = true;
        }
    }
    if any_left {
        println!("cargo::rustc-cfg=workbook_todos_left");
    }
}
