//! Step 4 — Batching: many tasks per message.

use super::*;
use exercise03::protocol::{MAX_BATCH, Publication, TaskBatch, TaskResult};
use exercise03::publisher::HeldResults;

const BATCHING: BookSection = BOOK.section("Batching: many tasks per message");

fn batch(body: serde_json::Value) -> Result<Request, exercise03::Rejection> {
    protocol::parse_message(&[json!(["BATCH", body]).to_string().into_bytes()])
}

/// Each task of a parsed batch: its id and whether it was accepted, or the start
/// of the reason it was refused.
fn outcomes(parsed: &Result<Request, exercise03::Rejection>) -> Vec<(Option<u64>, String)> {
    let Ok(Request::Batch(TaskBatch { topic: on, tasks })) = parsed else {
        panic!(
            "a BATCH message for topic 't' should parse as Request::Batch, got {parsed:?}; {}",
            BATCHING.hint()
        );
    };
    assert_eq!(*on, topic("t"), "the batch's topic; {}", BATCHING.hint());
    tasks
        .iter()
        .map(|task| match task {
            Ok(info) => (Some(info.id), "accepted".to_owned()),
            Err(rejection) => {
                assert_eq!(
                    rejection.topic(),
                    Some(&topic("t")),
                    "a refused task of a batch is answered on the batch's topic, got {rejection:?}; {}",
                    BATCHING.hint()
                );
                (rejection.id, rejection.reason.clone())
            }
        })
        .collect()
}

#[test]
fn step4_parse_batch_accepts_the_good_tasks_and_refuses_each_bad_one_alone() {
    let parsed = within(LIMIT, "parsing batches", BATCHING, || {
        let add = |id: u64| json!({"id": id, "kind": "add", "a": id, "b": 1});
        let oversized: Vec<serde_json::Value> = (1..=MAX_BATCH as u64 + 1).map(add).collect();
        [
            batch(json!({"topic": "t", "tasks": [add(1), add(2), add(3)]})),
            batch(json!({"topic": "t", "tasks": [
                add(1),
                {"id": 2, "kind": "teleport"},
                {"kind": "add", "a": 1, "b": 1},
                {"id": 4, "kind": "sleep", "ms": MAX_SLEEP_MS + 1},
            ]})),
            batch(json!({"topic": "t", "tasks": oversized})),
            batch(json!({"topic": "t", "tasks": "not a list"})),
            batch(json!({"topic": 7, "tasks": [add(1)]})),
        ]
    });
    let [good, mixed, oversized, not_a_list, numeric] = parsed;
    let accepted = |ids: &[u64]| -> Vec<(Option<u64>, String)> {
        ids.iter()
            .map(|id| (Some(*id), "accepted".to_owned()))
            .collect()
    };
    assert_eq!(
        outcomes(&good),
        accepted(&[1, 2, 3]),
        "a batch of good tasks is every task accepted, in order; {}",
        BATCHING.hint()
    );
    let mixed = outcomes(&mixed);
    assert!(
        matches!(
            &mixed[..],
            [(Some(1), ok), (Some(2), unknown), (None, _), (Some(4), too_long)]
                if ok == "accepted" && unknown.contains("teleport") && too_long.contains("limit")
        ),
        "one good task, an unknown kind (id 2), a task without an id and a sleep over the \
         limit (id 4) should be one accepted task and three refusals, each under its id, got \
         {mixed:?}; {}",
        BATCHING.hint()
    );
    let oversized = outcomes(&oversized);
    assert!(
        oversized.len() == MAX_BATCH + 1
            && oversized
                .iter()
                .zip(1..)
                .all(|((id, reason), expected)| *id == Some(expected)
                    && reason.contains(&MAX_BATCH.to_string())),
        "a batch of {} tasks should refuse every task, under its id, saying the limit is \
         {MAX_BATCH}, got {:?}…; {}",
        MAX_BATCH + 1,
        &oversized[..3.min(oversized.len())],
        BATCHING.hint()
    );
    assert!(
        matches!(&not_a_list, Err(rejection) if rejection.topic() == Some(&topic("t")) && rejection.id.is_none()),
        "a batch whose tasks are not a list is one refusal for its topic, got {not_a_list:?}; {}",
        BATCHING.hint()
    );
    assert!(
        matches!(&numeric, Err(rejection) if matches!(rejection.to, Address::Number(_))),
        "a batch for a numeric topic is refused on that number's frame, got {numeric:?}; {}",
        BATCHING.hint()
    );
}

fn results(ids: std::ops::RangeInclusive<u64>) -> Vec<TaskResult> {
    ids.map(|id| TaskResult {
        id,
        outcome: Ok(json!(id)),
        worker: 0,
    })
    .collect()
}

/// What a list of publications carries: per message, its topic and its ids, and
/// whether it is a single result (the original's form).
fn carried(publications: &[Publication]) -> Vec<(String, Vec<u64>, bool)> {
    publications
        .iter()
        .map(|publication| match publication {
            Publication::Result { topic, id, .. } => (topic.to_string(), vec![*id], true),
            Publication::Results { topic, results } => (
                topic.to_string(),
                results.iter().map(|result| result.id).collect(),
                false,
            ),
            other => panic!("only results are held, got {other:?}"),
        })
        .collect()
}

#[test]
fn step4_held_results_go_out_in_full_messages_per_topic() {
    let (first, second, third, rest, alone) = within(LIMIT, "holding results", BATCHING, || {
        let mut held = HeldResults::new(3);
        let first = held.hold(topic("t"), results(1..=2));
        let second = held.hold(topic("u"), results(1..=1));
        let third = held.hold(topic("t"), results(3..=7));
        let mut rest = held.flush();
        rest.sort_by_key(|publication| format!("{publication:?}"));
        let mut single = HeldResults::new(1);
        let alone = single.hold(topic("t"), results(1..=2));
        (
            carried(&first),
            carried(&second),
            carried(&third),
            carried(&rest),
            carried(&alone),
        )
    });
    assert!(
        first.is_empty() && second.is_empty(),
        "fewer results than a message holds are held, not sent: got {first:?} and {second:?}; {}",
        BATCHING.hint()
    );
    assert_eq!(
        third,
        vec![
            ("t".to_owned(), vec![1, 2, 3], false),
            ("t".to_owned(), vec![4, 5, 6], false)
        ],
        "2 then 5 results for 't', 3 per message: two full messages go out at once, in order; {}",
        BATCHING.hint()
    );
    assert_eq!(
        rest,
        vec![
            ("t".to_owned(), vec![7], true),
            ("u".to_owned(), vec![1], true)
        ],
        "the flush sends what is left, each topic apart, a lone result as a single one; {}",
        BATCHING.hint()
    );
    assert_eq!(
        alone,
        vec![
            ("t".to_owned(), vec![1], true),
            ("t".to_owned(), vec![2], true)
        ],
        "with one result per message, each result goes out alone, as the original's; {}",
        BATCHING.hint()
    );
}

#[test]
fn step4_a_batching_producer_gets_exactly_its_results_in_fewer_messages() {
    let (batched, single, summary) = within(LIMIT, "30 tasks in batches of 7", BATCHING, || {
        let running = Running::start_with(PipelineConfig {
            batch: 4,
            ..PipelineConfig::any_port(2)
        });
        let mut batching = running.producer("batched");
        let mut alone = running.producer("single");
        let tasks: Vec<(u64, Work)> = (1..=30)
            .map(|id| match id {
                5 => (id, Work::Divide { a: 1, b: 0 }),
                9 => (
                    id,
                    Work::Sleep {
                        ms: MAX_SLEEP_MS + 1,
                    },
                ),
                _ => (id, Work::Add { a: id as i64, b: 1 }),
            })
            .collect();
        for chunk in tasks.chunks(7) {
            batching.submit_batch(chunk).expect("pushes a batch");
        }
        for id in 1..=5 {
            alone
                .submit(id, Work::Multiply { a: id as i64, b: 2 })
                .expect("pushes a task");
        }
        let batched = batching.collect(PATIENCE, |_| {}).unwrap_or_else(|error| {
            running.fail(&format!("producer 'batched': {error}"), BATCHING)
        });
        let single = alone
            .collect(PATIENCE, |_| {})
            .unwrap_or_else(|error| running.fail(&format!("producer 'single': {error}"), BATCHING));
        alone.stop_pipeline().expect("pushes DIE");
        (values(&batched), values(&single), running.join())
    });
    let expected: BTreeMap<u64, Result<i64, String>> = (1..=30)
        .map(|id| match id {
            5 => (id, Err("division by zero".to_owned())),
            9 => (
                id,
                Err(format!(
                    "sleep ms is {}, more than the limit of {MAX_SLEEP_MS}",
                    MAX_SLEEP_MS + 1
                )),
            ),
            _ => (id, Ok(id as i64 + 1)),
        })
        .collect();
    assert_eq!(
        batched,
        expected,
        "30 tasks in batches of 7: every result, the failed and the refused ones as errors; {}",
        BATCHING.hint()
    );
    assert_eq!(
        single,
        (1..=5).map(|id| (id, Ok(id as i64 * 2))).collect(),
        "a producer sending tasks alone beside it gets its own results; {}",
        BATCHING.hint()
    );
    // Alone, these would be 29 results, 1 refusal, 5 results and 2 welcomes.
    assert!(
        summary.published < 37,
        "the batched results should share messages (4 per message here): {} messages were \
         published for 37 answers; {}",
        summary.published,
        BATCHING.hint()
    );
}

#[test]
fn step4_a_batch_takes_a_slot_per_task_so_the_limit_on_tasks_in_flight_holds() {
    const LIMIT_IN_FLIGHT: usize = 2;
    const PER_BATCH: u64 = 3;
    let (replies, most_in_flight) = within(
        LIMIT,
        "3 batches of 3 slow tasks, at most 2 in flight",
        BATCHING,
        || {
            let running = Running::start_with(PipelineConfig {
                max_in_flight: LIMIT_IN_FLIGHT,
                ..PipelineConfig::any_port(1)
            });
            let mut producer = running.producer("batched-flood");
            let tasks: Vec<(u64, Work)> = (1..=3 * PER_BATCH)
                .map(|id| (id, Work::Sleep { ms: 30 }))
                .collect();
            for chunk in tasks.chunks(PER_BATCH as usize) {
                producer.submit_batch(chunk).expect("pushes a batch");
            }
            let replies = producer.collect(PATIENCE, |_| {}).unwrap_or_else(|error| {
                running.fail(&format!("producer 'batched-flood': {error}"), BATCHING)
            });
            let (mut in_flight, mut most) = (0_i64, 0_i64);
            for event in &running.finish() {
                match event {
                    Event::Received { .. } => in_flight += 1,
                    Event::Published { .. } => in_flight -= 1,
                    _ => continue,
                }
                most = most.max(in_flight);
            }
            (values(&replies), most)
        },
    );
    assert_eq!(
        replies,
        (1..=3 * PER_BATCH).map(|id| (id, Ok(30))).collect(),
        "all 9 tasks must be answered; {}",
        BATCHING.hint()
    );
    let bound = (LIMIT_IN_FLIGHT as u64 + PER_BATCH - 1) as i64;
    assert!(
        (PER_BATCH as i64..=bound).contains(&most_in_flight),
        "with max_in_flight {LIMIT_IN_FLIGHT} and batches of {PER_BATCH}, a batch is accepted \
         whole and takes a slot per task: expected between {PER_BATCH} and {bound} tasks \
         received and not yet published, got {most_in_flight}; {}",
        BATCHING.hint()
    );
}
