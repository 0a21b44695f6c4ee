//! Generates the Rust types of the original's protobuf messages (`proto/workbook.proto`,
//! shared with chapter 06) and of the two this chapter adds (`proto/nats.proto`), with
//! the `protoc` that ships inside the protoc-bin-vendored crate: nothing to install.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    todos_left::declare(TODOS);
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

/// Generated with the exercise: each todo of the chapter and its file. While a
/// todo's `todo!()` is still there, `todos_left::declare` lets its function leave
/// parameters unused; write the body and the compiler warns about it again.
const TODOS: &[(&str, &str)] = &[
    ("subject-for", "src/task.rs"),
    ("stream-config", "src/setup.rs"),
    ("message-for", "src/controller.rs"),
    ("consumer-config", "src/setup.rs"),
    ("execute", "src/worker.rs"),
    ("record", "src/results.rs"),
    ("enforce-deadlines", "src/controller.rs"),
];
