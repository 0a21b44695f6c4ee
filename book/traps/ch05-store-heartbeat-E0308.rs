// Step 05.2, store-heartbeat: the token read from the database may be NULL, so it
// is an `Option<String>`; the worker's is a `&str`.
pub fn still_ours(current_token: Option<String>, lease_token: &str) -> bool {
    current_token == lease_token
}
