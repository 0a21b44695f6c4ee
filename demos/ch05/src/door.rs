//! `--endpoint` and `--http`: how every chapter 05 client (`lease_worker`,
//! `add_task`, `stats`) chooses the dispatcher's ZeroMQ socket or its HTTP door,
//! as one set of options, so the three can never disagree on names or defaults.

use solution05::dispatcher::DEFAULT_ENDPOINT;
use solution05::http::DEFAULT_HTTP_URL;
use solution05::http_client::url;

/// The door options, flattened into a binary's own.
#[derive(Debug, Clone, clap::Args)]
pub struct DoorArgs {
    /// The dispatcher's endpoint: `tcp://…` for its ZeroMQ socket, or `http://…`
    /// for its HTTP door.
    #[arg(long, value_name = "ENDPOINT", default_value = DEFAULT_ENDPOINT)]
    pub endpoint: String,

    /// Use the dispatcher's HTTP door instead, at URL [default: http://127.0.0.1:5000]:
    /// `--http`, or `--http=URL` (with `=` where positional arguments follow).
    #[arg(
        long,
        value_name = "URL",
        num_args = 0..=1,
        default_missing_value = DEFAULT_HTTP_URL,
        conflicts_with = "endpoint"
    )]
    pub http: Option<String>,
}

impl DoorArgs {
    /// The endpoint a `solution05` client connects to: the HTTP door's URL when
    /// `--http` was given, else `--endpoint`.
    pub fn endpoint(&self) -> String {
        self.http
            .as_deref()
            .map_or_else(|| self.endpoint.clone(), url)
    }
}
