// Step 06.1, executor-run: the first event takes the call's name by value, and the
// second needs it again.
pub enum Event {
    Started { call: String },
    Finished { call: String },
}

pub fn report(call: String, events: impl Fn(Event)) {
    events(Event::Started { call });
    events(Event::Finished { call });
}
