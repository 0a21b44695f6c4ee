//! The book's "Compiler errors you may meet" boxes quote rustc on the files in
//! `book/traps/`: each must still fail to compile, with the error code its name
//! ends in (`…-E0277.rs`), or the box would quote an error nobody meets any more.

use std::fs;
use std::process::Command;

#[test]
fn every_trap_still_fails_with_its_error_code() {
    let traps = workbook_tools::workspace().join("book").join("traps");
    let out = std::env::temp_dir().join(format!("workbook-traps-{}", std::process::id()));
    fs::create_dir_all(&out).expect("a folder for rustc's output");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let mut checked = 0;
    let mut entries: Vec<_> = fs::read_dir(&traps)
        .expect("book/traps exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    entries.sort();
    for trap in entries {
        let name = trap.file_stem().map(|s| s.to_string_lossy().into_owned());
        let code = name
            .as_deref()
            .and_then(|n| n.rsplit_once('-'))
            .map(|(_, code)| code.to_owned())
            .filter(|code| code.starts_with('E'))
            .unwrap_or_else(|| panic!("{} must end in its error code, -E0123", trap.display()));
        let output = Command::new(&rustc)
            .args([
                "--edition",
                "2024",
                "--crate-type",
                "lib",
                "--emit",
                "metadata",
            ])
            .arg("--out-dir")
            .arg(&out)
            .arg(&trap)
            .output()
            .expect("rustc runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success() && stderr.contains(&format!("error[{code}]")),
            "{} should fail with {code}, rustc said:\n{stderr}",
            trap.display()
        );
        checked += 1;
    }
    let _ = fs::remove_dir_all(&out);
    assert!(checked > 0, "no traps found in {}", traps.display());
}
