// Step 07.2, consumer-config: the server counts deliveries in an i64, the Setup
// in a u32.
pub struct Setup {
    pub max_attempts: u32,
}

pub struct Config {
    pub max_deliver: i64,
}

pub fn consumer_config(setup: &Setup) -> Config {
    Config {
        max_deliver: setup.max_attempts,
    }
}
