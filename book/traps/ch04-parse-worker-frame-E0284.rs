// Step 04.1, parse-worker-frame: a parser that can produce many types needs to be
// told which one. (`str::parse` here; serde_json's `from_str` asks the same.)
pub fn describe(frame: &str) -> String {
    let report = frame.parse().ok();
    format!("{report:?}")
}
