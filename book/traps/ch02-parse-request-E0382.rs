// Step 02.4, parse-request: turning the parsed JSON into a task takes it by value,
// so it cannot be read again afterwards. (A stand-in for serde_json's
// `from_value(Value)`, which takes its argument the same way.)
pub struct Value(String);

impl Value {
    pub fn id(&self) -> Option<u64> {
        self.0.parse().ok()
    }
}

pub fn from_value(value: Value) -> Result<String, String> {
    Ok(value.0)
}

pub fn parse_request(value: Value) -> (Result<String, String>, Option<u64>) {
    let task = from_value(value);
    (task, value.id())
}
