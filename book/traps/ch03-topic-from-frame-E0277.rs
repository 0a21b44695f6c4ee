// Step 03.1, topic-from-frame: `?` on a `Result` inside a function that returns an
// `Option` — the two kinds of `?` do not mix without a conversion.
pub fn topic_from_frame(frame: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(frame)?;
    Some(text.to_owned())
}
