//! `zmq_producer`: pushes tasks to a running `zmq_pipeline` and prints each result
//! as it arrives on its topics.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use solution02::demo;
use solution03::protocol::MAX_BATCH;
use solution03::work::Algorithm;
use solution03::{Producer, Topic, Work};
use workbook::term::{self, Voice};
use workbook_ch03::endpoints::Endpoints;

/// A producer for `zmq_pipeline`: subscribes to its topics, confirms each
/// subscription is live, pushes its tasks, and exits once every result is back.
#[derive(Debug, Parser)]
#[command(version, after_help = EXAMPLES)]
struct Cli {
    /// A topic this producer's results come back on (exact match: "1" never
    /// receives "10"'s results). Repeat it to subscribe to several: the tasks take
    /// them in turn [default: producer-<process id>, unique per run].
    #[arg(long = "topic", value_name = "TOPIC")]
    topics: Vec<Topic>,

    /// How many tasks to send.
    #[arg(long, default_value_t = 10)]
    tasks: u64,

    /// What the tasks do.
    #[arg(long, value_enum, default_value_t = Kind::Arithmetic)]
    kind: Kind,

    /// Tasks per message: 1 sends each task alone, the original's way; more sends
    /// them in batches, one message each, and takes their results back batched.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=MAX_BATCH as i64))]
    batch: u16,

    /// Seed for the random arithmetic tasks (same seed, same tasks).
    #[arg(long, default_value_t = 2024)]
    seed: u64,

    /// Send ["DIE"] after the results are back: the pipeline finishes and stops.
    #[arg(long)]
    die: bool,

    /// Give up when no result arrives for this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    timeout: u64,

    #[command(flatten)]
    endpoints: Endpoints,

    /// Plain output (also when NO_COLOR is set or output is not a terminal).
    #[arg(long)]
    no_color: bool,
}

/// The task kinds a producer can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    /// Random `a op b` on 0..=100, as in chapter 02.
    Arithmetic,
    /// Each task sleeps 100 ms: simulated I/O.
    Sleep,
    /// Each task counts the primes up to 100,000 by trial division: CPU work.
    Primes,
}

const EXAMPLES: &str = "\
Examples (with zmq_pipeline running):
  zmq_producer --tasks 10                      on a topic of its own
  zmq_producer --topic 10 --tasks 5 --kind sleep
  zmq_producer --topic 1 --topic 1x --tasks 4  tasks for '1' and '1x' in turn
  zmq_producer --tasks 100 --batch 16          100 tasks in 7 messages
  zmq_producer --tasks 0 --die                 stop the pipeline";

fn main() -> ExitCode {
    let cli = Cli::parse();
    term::configure_colors(cli.no_color);
    match produce(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn produce(cli: &Cli) -> Result<(), String> {
    // A topic of its own unless told otherwise: two producers on one topic would
    // each receive the other's results (they are set aside, but still travel).
    let mut topics = cli.topics.clone();
    let mut seen = BTreeSet::new();
    topics.retain(|topic| seen.insert(topic.clone()));
    if topics.is_empty() {
        topics.push(
            Topic::new(format!("producer-{}", std::process::id()))
                .map_err(|error| error.to_string())?,
        );
    }
    let names: Vec<String> = topics.iter().map(Topic::to_string).collect();
    let label = format!("Producer {}", names.join(" "));
    let say = |message: &str| term::print_tagged(&label, Voice::Client, message);
    let timeout = Duration::from_secs(cli.timeout);
    let context = zmq::Context::new();
    let mut producer = Producer::connect(
        &context,
        &cli.endpoints.collector,
        &cli.endpoints.publisher,
        topics[0].clone(),
        timeout,
    )
    .map_err(|error| error.to_string())?;
    for topic in &topics[1..] {
        producer
            .subscribe(topic.clone(), timeout)
            .map_err(|error| error.to_string())?;
    }
    let plural = if names.len() > 1 { "s" } else { "" };
    say(&format!(
        "Subscribed to topic{plural} '{}'",
        names.join("', '")
    ));

    let tasks = tasks(cli);
    // Which topic each task went out on, to say where each result came back. Alone,
    // the tasks take the topics in turn; in batches, each batch does.
    let mut sent_on: BTreeMap<u64, &Topic> = BTreeMap::new();
    let batch = usize::from(cli.batch);
    for (chunk, topic) in tasks.chunks(batch).zip(topics.iter().cycle()) {
        if batch > 1 {
            producer
                .submit_batch_to(topic, chunk)
                .map_err(|error| error.to_string())?;
        }
        for (id, work) in chunk {
            if batch == 1 {
                producer
                    .submit_to(topic, *id, work.clone())
                    .map_err(|error| error.to_string())?;
            }
            sent_on.insert(*id, topic);
            if topics.len() > 1 {
                say(&format!("Sent task {id} on '{topic}': {work}"));
            } else {
                say(&format!("Sent task {id}: {work}"));
            }
        }
        if let [(first, _), .., (last, _)] = chunk {
            say(&format!("Sent tasks {first} to {last} in one message"));
        }
    }
    producer
        .collect(timeout, |reply| {
            match reply.id.and_then(|id| sent_on.get(&id)) {
                Some(topic) if topics.len() > 1 => {
                    say(&format!("{}, on '{topic}'", reply.describe()))
                }
                _ => say(&reply.describe()),
            }
        })
        .map_err(|error| error.to_string())?;
    say(&format!("All {} results received", tasks.len()));
    let strays = producer.strays();
    if !strays.is_empty() {
        say(&format!(
            "Ignored {} replies that answered none of these tasks (another producer on \
             topic '{}'?)",
            strays.len(),
            names.join("', '")
        ));
    }

    if cli.die {
        producer
            .stop_pipeline()
            .map_err(|error| error.to_string())?;
        say("Sent DIE");
    }
    Ok(())
}

fn tasks(cli: &Cli) -> Vec<(u64, Work)> {
    let count = usize::try_from(cli.tasks).unwrap_or(usize::MAX);
    let works: Vec<Work> = match cli.kind {
        Kind::Arithmetic => demo::random_tasks(count, cli.seed)
            .into_iter()
            .map(Work::arithmetic)
            .collect(),
        Kind::Sleep => vec![Work::Sleep { ms: 100 }; count],
        Kind::Primes => vec![
            Work::Primes {
                limit: 100_000,
                algorithm: Algorithm::TrialDivision,
            };
            count
        ],
    };
    (1..).zip(works).collect()
}
