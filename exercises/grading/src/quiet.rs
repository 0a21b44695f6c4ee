//! Panics a test causes on purpose, kept out of its output.
//!
//! A test that checks how the learner's code survives a panicking job makes many
//! panics, and the default panic hook prints each one. [`silence_panics_saying`]
//! hides those — and only those: a panic is hidden when its message is *exactly* one
//! of the registered texts. An assertion that fails mentions the text too (in its
//! expected value), but its message is never exactly that text, so it is always
//! printed. A filter on "contains" would swallow it, and the test would fail
//! without saying why.

use std::panic::{self, PanicHookInfo};
use std::sync::{Mutex, Once};

/// The messages of expected panics, for every test of the process at once.
static EXPECTED: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
static INSTALL: Once = Once::new();

/// From now on, a panic whose message is exactly `message` is not printed. Every
/// other panic reaches the panic hook that was installed before, as usual.
///
/// The hook is installed once for the whole test binary, so tests running in
/// parallel cannot lose each other's filters.
pub fn silence_panics_saying(message: &'static str) {
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !is_expected(info) {
                previous(info);
            }
        }));
    });
    let mut expected = EXPECTED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !expected.contains(&message) {
        expected.push(message);
    }
}

fn is_expected(info: &PanicHookInfo<'_>) -> bool {
    let payload = info.payload();
    let Some(message) = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
    else {
        return false;
    };
    // A panic inside the hook would abort the process, so never panic on a poisoned lock.
    let expected = EXPECTED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    expected.contains(&message)
}
