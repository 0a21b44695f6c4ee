//! Step 1 — Messages: the task kinds, topic frames, parsing.

use super::*;

#[test]
fn step1_work_kinds_compute() {
    let outcomes = within(LIMIT, "running each kind of work", KINDS, || {
        [
            Work::Add { a: 10, b: 5 },
            Work::Divide { a: 6, b: 0 },
            Work::Multiply { a: i64::MAX, b: 2 },
            Work::Sleep { ms: 20 },
            Work::Primes {
                limit: 100,
                algorithm: Algorithm::Sieve,
            },
            Work::Primes {
                limit: 97,
                algorithm: Algorithm::TrialDivision,
            },
            Work::Primes {
                limit: 2,
                algorithm: Algorithm::Sieve,
            },
            Work::Primes {
                limit: 1,
                algorithm: Algorithm::TrialDivision,
            },
            Work::Fail {
                message: "boom".to_owned(),
            },
            Work::Echo {
                data: json!({"x": [1, "two"]}),
            },
        ]
        .map(|work| work.run())
    });
    let expected = [
        Ok(json!(15)),
        Err(WorkError::Arithmetic(TaskError::DivisionByZero)),
        Err(WorkError::Arithmetic(TaskError::Overflow {
            op: Op::Multiply,
            a: i64::MAX,
            b: 2,
        })),
        Ok(json!(20)),
        Ok(json!(25)),
        Ok(json!(25)),
        Ok(json!(1)),
        Ok(json!(0)),
        Err(WorkError::Failed("boom".to_owned())),
        Ok(json!({"x": [1, "two"]})),
    ];
    assert_eq!(
        outcomes,
        expected,
        "add, divide by zero, overflow, sleep 20, 25 primes up to 100 (sieve) and up to 97 \
         (trial division: 97 itself counts), 1 up to 2, none up to 1, fail, echo; {}",
        KINDS.hint()
    );
}

#[test]
fn step1_work_over_the_limits_is_refused_before_it_runs() {
    // Only checked, never run: a sleep of MAX_SLEEP_MS + 1 would take a minute.
    for (work, what) in [
        (
            Work::Sleep {
                ms: MAX_SLEEP_MS + 1,
            },
            "sleep ms",
        ),
        (
            Work::Primes {
                limit: MAX_PRIMES_LIMIT + 1,
                algorithm: Algorithm::TrialDivision,
            },
            "primes limit",
        ),
    ] {
        let checked = work.check();
        assert!(
            matches!(&checked, Err(DecodeError::TooLarge { what: w, .. }) if *w == what),
            "{work} is over the limit: expected Err(DecodeError::TooLarge {{ what: {what:?}, \
             .. }}) from Work::check, got {checked:?}; {}",
            KINDS.hint()
        );
        let decoded = Work::decode(work.kind(), &work.args());
        assert_eq!(
            decoded,
            Err(checked.unwrap_err()),
            "Work::decode checks the limits too; {}",
            KINDS.hint()
        );
    }
    for work in [
        Work::Sleep { ms: MAX_SLEEP_MS },
        Work::Primes {
            limit: MAX_PRIMES_LIMIT,
            algorithm: Algorithm::Sieve,
        },
        Work::Add { a: i64::MAX, b: 1 },
    ] {
        assert_eq!(
            work.check(),
            Ok(()),
            "{work}: the limit itself is allowed, and arithmetic has no size; {}",
            KINDS.hint()
        );
    }
}

#[test]
fn step1_work_decodes_from_a_kind_and_its_args() {
    assert_eq!(
        Work::decode("add", &json!({"a": 10, "b": 5})),
        Ok(Work::Add { a: 10, b: 5 }),
        "add takes {{a, b}}; {}",
        KINDS.hint()
    );
    assert_eq!(
        Work::decode("primes", &json!({"limit": 1000})),
        Ok(Work::Primes {
            limit: 1000,
            algorithm: Algorithm::Sieve
        }),
        "the sieve is the default algorithm; {}",
        KINDS.hint()
    );
    let echo = Work::Echo {
        data: json!([1, 2]),
    };
    assert_eq!(
        (echo.kind(), echo.args()),
        ("echo", json!({"data": [1, 2]})),
        "kind and args are what travels; {}",
        KINDS.hint()
    );
    for (kind, args) in [
        ("pickle", json!({"code": "import os"})),
        ("sleep", json!({"ms": "soon"})),
        ("primes", json!({})),
        ("primes", json!({"limit": 10, "algorithm": "guess"})),
        ("add", json!({"a": 1, "b": 2, "c": 3})),
        ("add", json!([1, 2])),
    ] {
        let decoded = Work::decode(kind, &args);
        assert!(
            matches!(decoded, Err(DecodeError::Invalid { .. })),
            "{kind} {args} is no task: expected Err(DecodeError::Invalid {{ .. }}), got \
             {decoded:?}; {}",
            KINDS.hint()
        );
    }
}

#[test]
fn step1_topic_frames_match_exactly_under_prefix_matching() {
    let pairs = within(LIMIT, "topic frames", PREFIX, || {
        [
            ("1", "10"),
            ("1", "1x"),
            ("a", "ab"),
            ("job", "job/1"),
            ("say \"hi\"", "say \"hi\" again"),
        ]
        .map(|(short, long)| {
            let (short_frame, long_frame) = (topic(short).frame(), topic(long).frame());
            let round_trip = Topic::from_frame(&short_frame);
            (short, long, short_frame, long_frame, round_trip)
        })
    });
    for (short, long, short_frame, long_frame, round_trip) in pairs {
        assert!(
            !long_frame.starts_with(&short_frame),
            "a SUB socket subscribed to the frame of '{short}' ({}) also receives '{long}' ({}) \
             because it is a prefix; a topic's frame is the name as a JSON string, closing \
             quote included; {}",
            String::from_utf8_lossy(&short_frame),
            String::from_utf8_lossy(&long_frame),
            PREFIX.hint()
        );
        assert_eq!(
            round_trip,
            Some(topic(short)),
            "Topic::from_frame must read back what Topic::frame wrote; {}",
            PREFIX.hint()
        );
    }
}

#[test]
fn step1_topic_frames_are_written_as_the_originals_json_dumps_writes_them() {
    // What Python's `json.dumps(name)` gives, byte for byte: the original's
    // subscriber subscribes to exactly that.
    let cases: [(&str, &str); 8] = [
        ("1", r#""1""#),
        ("10", r#""10""#),
        ("café", r#""caf\u00e9""#),
        ("🦀", r#""\ud83e\udd80""#),
        ("a\"b\\c\n\t", r#""a\"b\\c\n\t""#),
        ("\u{8}\u{c}\r", r#""\b\f\r""#),
        ("\u{1}", r#""\u0001""#),
        ("del\u{7f}", r#""del\u007f""#),
    ];
    let written = within(LIMIT, "topic frames", PREFIX, move || {
        cases.map(|(name, _)| {
            let frame = topic(name).frame();
            (
                String::from_utf8_lossy(&frame).into_owned(),
                Topic::from_frame(&frame),
            )
        })
    });
    for ((name, expected), (frame, round_trip)) in cases.iter().zip(written) {
        assert_eq!(
            frame,
            *expected,
            "the frame of {name:?} must be what the original's `json.dumps` writes, or a \
             subscriber written the original's way never receives its results (a subscription \
             compares bytes, not JSON values: every character outside printable ASCII is \
             `\\uXXXX`, lowercase, in UTF-16 units); {}",
            PREFIX.hint()
        );
        assert_eq!(
            round_trip,
            Some(topic(name)),
            "Topic::from_frame must read back {name:?} from {frame}; {}",
            PREFIX.hint()
        );
    }
    let not_topics = within(LIMIT, "frames that are no topic", PREFIX, || {
        let frames: [&[u8]; 5] = [b"1", b"null", br#""""#, br#""1"x"#, b"\xff"];
        frames.map(Topic::from_frame)
    });
    assert_eq!(
        not_topics,
        [None, None, None, None, None],
        "a number (1), null (the unaddressed frame), the empty string, trailing bytes and \
         bytes that are not text are no topic's frame: Topic::from_frame gives None; {}",
        PREFIX.hint()
    );
}

#[test]
fn step1_parse_message_refuses_every_kind_of_malformed_message() {
    let parsed = within(LIMIT, "parsing good and bad messages", MALFORMED, || {
        let garbage: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        [
            vec![protocol::task_message(
                &topic("t"),
                1,
                Work::Add { a: 1, b: 2 },
            )],
            vec![protocol::hello_message(&topic("t"))],
            vec![protocol::die_message()],
            vec![b"[\"DIE\"]".to_vec(), b"extra".to_vec(), b"frames".to_vec()],
            vec![b"this is not JSON".to_vec()],
            vec![br#"["DO", {"topic": "t", "info": {"id": 7, "kind": "explode"}}]"#.to_vec()],
            vec![garbage],
            vec![br#"["FLY", {}]"#.to_vec()],
            vec![],
            // As the original's producer sends it: pyzmq's `send_json`.
            vec![
                br#"["DO", {"topic": "caf\u00e9", "info": {"id": 2, "kind": "add", "a": 1, "b": 2}}]"#
                    .to_vec(),
            ],
            vec![br#"["DO", {"topic": 10, "info": {"id": 3, "kind": "add", "a": 1, "b": 2}}]"#.to_vec()],
            vec![br#"["HELLO", {"topic": 10}]"#.to_vec()],
        ]
        .map(|frames| protocol::parse_message(&frames))
    });
    let [
        task,
        hello,
        die,
        parts,
        not_json,
        unknown,
        huge,
        command,
        empty,
        python,
        numeric,
        numeric_hello,
    ] = parsed;
    assert!(
        matches!(&task, Ok(Request::Do(request)) if request.topic == topic("t") && request.info.id == 1),
        "a DO message should parse as Request::Do, got {task:?}; {}",
        MALFORMED.hint()
    );
    assert_eq!(
        hello,
        Ok(Request::Hello(topic("t"))),
        "a HELLO message for topic 't' should parse as Request::Hello(\"t\"), got {hello:?}; {}",
        MALFORMED.hint()
    );
    assert_eq!(
        die,
        Ok(Request::Die),
        "[\"DIE\"] should parse as Request::Die, got {die:?}; {}",
        MALFORMED.hint()
    );
    for (what, result) in [
        ("3 frames", &parts),
        ("text that is not JSON", &not_json),
        ("1 MiB of garbage", &huge),
        ("an unknown command", &command),
        ("no frames at all", &empty),
    ] {
        assert!(
            matches!(result, Err(rejection) if rejection.to == Address::Unaddressed),
            "{what} should be a Rejection to Address::Unaddressed, got {result:?}; {}",
            MALFORMED.hint()
        );
    }
    assert!(
        matches!(&python, Ok(Request::Do(request)) if request.topic == topic("café") && request.info.id == 2),
        "a task as the original's producer sends it (`send_json`: spaces, and \"caf\\u00e9\" \
         for \"café\") should parse as Request::Do for topic \"café\", got {python:?}; {}",
        MALFORMED.hint()
    );
    let ten = serde_json::Number::from(10);
    for (what, result, id) in [
        ("a task", &numeric, Some(3)),
        ("a HELLO", &numeric_hello, None),
    ] {
        assert!(
            matches!(result, Err(rejection) if rejection.to == Address::Number(ten.clone())
                && rejection.id == id
                && rejection.reason.contains("number")),
            "{what} for the numeric topic 10 should be refused to Address::Number(10), with its \
             id ({id:?}) and a reason that says the topic is a number — numeric topics match by \
             prefix — got {result:?}; {}",
            PREFIX.hint()
        );
    }
    match unknown {
        Err(rejection) => assert!(
            rejection.topic() == Some(&topic("t"))
                && rejection.id == Some(7)
                && rejection.reason.contains("explode"),
            "a task of unknown kind should be refused *for its topic and id*, naming the kind, \
             got {rejection:?}; {}",
            MALFORMED.hint()
        ),
        Ok(request) => panic!(
            "kind \"explode\" is not one of the task kinds, yet it parsed as {request:?}; {}",
            MALFORMED.hint()
        ),
    }
}

#[test]
fn step1_parse_message_refuses_work_over_the_limits() {
    let message = br#"["DO", {"topic": "t", "info": {"id": 8, "kind": "sleep", "ms": 3600000}}]"#;
    let parsed = within(LIMIT, "parsing a task over the limits", MALFORMED, || {
        protocol::parse_message(&[message.to_vec()])
    });
    match parsed {
        Err(rejection) => assert_eq!(
            (rejection.topic(), rejection.id),
            (Some(&topic("t")), Some(8)),
            "a task over the limits is refused back to its own topic and id, got {rejection:?}; {}",
            MALFORMED.hint()
        ),
        Ok(request) => panic!(
            "an hour's sleep was accepted as {request:?}: well-formed is not small enough, \
             check the limits (Work::check) before a worker is told to wait; {}",
            MALFORMED.hint()
        ),
    }
}
