//! Generates the Rust types of the original's protobuf messages (`proto/workbook.proto`,
//! shared with chapter 06) and of the two this chapter adds (`proto/nats.proto`), with
//! the `protoc` that ships inside the protoc-bin-vendored crate: nothing to install.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    declare_todos_left();
    let shared = "../../proto";
    // This chapter's own file stays with its solution; the exercise, generated with
    // this very build.rs, reads it from there too.
    let ours = "../../solutions/solution07/proto";
    println!("cargo:rerun-if-changed={shared}");
    println!("cargo:rerun-if-changed={ours}");

    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    config.compile_protos(
        &[
            format!("{shared}/workbook.proto"),
            format!("{ours}/nats.proto"),
        ],
        &[shared.to_owned(), ours.to_owned()],
    )?;
    Ok(())
}

/// Generated with the exercise. While a todo's `todo!()` is still in its file, its
/// function may leave parameters unused (cfg `workbook_todo_<id>`); while any is
/// left, helpers only it will call may look unused (cfg `workbook_todos_left`).
/// Replace a `todo!()` and the compiler warns about your own code again.
fn declare_todos_left() {
    const TODOS: &[(&str, &str)] = &[
        ("subject-for", "src/task.rs"),
        ("stream-config", "src/setup.rs"),
        ("submit", "src/controller.rs"),
        ("consumer-config", "src/setup.rs"),
        ("execute", "src/worker.rs"),
        ("record", "src/results.rs"),
        ("enforce-deadlines", "src/controller.rs"),
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
