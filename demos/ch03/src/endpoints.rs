//! The two endpoints every ZeroMQ demo takes, as one set of command-line options,
//! so the pipeline and its producers can never disagree on names or defaults.

use solution03::pipeline::{DEFAULT_COLLECTOR, DEFAULT_PUBLISHER};

/// `--collector` and `--publisher`, flattened into a binary's own options.
#[derive(Debug, Clone, clap::Args)]
pub struct Endpoints {
    /// The collector's PULL endpoint, where tasks go in.
    #[arg(long, value_name = "ENDPOINT", default_value = DEFAULT_COLLECTOR)]
    pub collector: String,

    /// The publisher's PUB endpoint, where results come out.
    #[arg(long, value_name = "ENDPOINT", default_value = DEFAULT_PUBLISHER)]
    pub publisher: String,
}
