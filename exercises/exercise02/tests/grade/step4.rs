//! Step 4 — Network mode.

use super::*;

#[test]
fn step4_parse_request_accepts_a_task_and_explains_bad_lines() {
    assert_eq!(
        parse_request(r#"{"id": 1, "op": "add", "a": 10, "b": 5}"#),
        Ok(task(1, 10, Op::Add, 5)),
        "a well-formed line is a task; {}",
        NETWORK.hint()
    );
    let garbage = parse_request("not json").err_or_book("`not json` to be refused", NETWORK);
    assert_eq!(
        garbage.id,
        None,
        "garbage has no id to report; {}",
        NETWORK.hint()
    );
    assert!(
        garbage.message.contains("invalid JSON"),
        "say that the line is not JSON, got {:?}; {}",
        garbage.message,
        NETWORK.hint()
    );
    let unknown = parse_request(r#"{"id": 7, "op": "pow", "a": 2, "b": 3}"#)
        .err_or_book("the unknown op `pow` to be refused", NETWORK);
    assert_eq!(
        unknown.id,
        Some(7),
        "keep the id of a readable but invalid task, so the client knows which one failed; {}",
        NETWORK.hint()
    );
    assert!(
        unknown.message.contains("pow"),
        "name the unknown op in the error, got {:?}; {}",
        unknown.message,
        NETWORK.hint()
    );
}

/// A server running `run` on a thread of its own, and a client connected to it that
/// has sent `tasks` multiplications (`id × 10`) and, if `garbage`, a line that is
/// not JSON. Returns once the server has received every task.
struct Serving {
    running: JoinHandle<Result<(), ServerError>>,
    shutdown: Shutdown,
    client: TcpStream,
}

fn serve(sink: EventSink, events: &Receiver<Event>, tasks: u64, garbage: bool) -> Serving {
    let config = DispatcherConfig {
        delay: DelayRange::fixed(Duration::from_millis(50)),
        ..quick(2)
    };
    let server = Server::bind("127.0.0.1:0", config, sink)
        .or_book("the server to bind a free port", NETWORK);
    let address = server.local_addr();
    let shutdown = server.shutdown_handle();
    let running = thread::spawn(move || server.run());

    let mut client =
        TcpStream::connect(address).or_book("the test's client to connect to the server", NETWORK);
    let mut lines = String::new();
    for id in 1..=tasks {
        lines.push_str(&format!(
            "{{\"id\": {id}, \"op\": \"multiply\", \"a\": {id}, \"b\": 10}}\n"
        ));
    }
    if garbage {
        lines.push_str("this is not JSON\n");
    }
    client
        .write_all(lines.as_bytes())
        .or_book("the test's client to send its tasks", NETWORK);

    // Wait until every task is queued, so the shutdown comes before they have run.
    let mut received = 0;
    while received < tasks {
        match events.recv_timeout(Duration::from_millis(20)) {
            Ok(Event::Received(_)) => received += 1,
            Ok(_) => {}
            Err(_) if running.is_finished() => match running.join() {
                Err(payload) => panic::resume_unwind(payload),
                Ok(result) => panic!(
                    "run() returned before the shutdown, with {result:?}: it should serve \
                     until the shutdown handle is used; {}",
                    NETWORK.hint()
                ),
            },
            Err(_) => {}
        }
    }
    Serving {
        running,
        shutdown,
        client,
    }
}

impl Serving {
    /// Shuts the server down, waits for `run` to return Ok — passing its panic (a
    /// `todo!()`, say) on unchanged — and hands back the client.
    fn shut_down(self) -> TcpStream {
        self.shutdown.stop();
        match self.running.join() {
            Err(payload) => panic::resume_unwind(payload),
            Ok(result) => result.or_book("run() to return Ok(()) after a shutdown", NETWORK),
        }
        self.client
    }
}

#[test]
fn step4_server_answers_over_tcp_and_drains_on_shutdown() {
    let replies = within(LIMIT, "the server's graceful shutdown", NETWORK, || {
        let (sink, events) = recording();
        let client = serve(sink, &events, 6, true).shut_down();
        BufReader::new(client)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    let mut values: Vec<serde_json::Value> = replies
        .iter()
        .map(|line| serde_json::from_str(line).or_book("every reply to be a line of JSON", NETWORK))
        .collect();
    let refusals = values.iter().filter(|v| v.get("id").is_none()).count();
    values.retain(|v| v.get("id").is_some());
    values.sort_by_key(|v| v["id"].as_u64());
    let answers: Vec<(u64, i64)> = values
        .iter()
        .filter_map(|v| Some((v["id"].as_u64()?, v["value"].as_i64()?)))
        .collect();
    assert_eq!(
        answers,
        (1..=6).map(|id| (id, id as i64 * 10)).collect::<Vec<_>>(),
        "every task queued before the shutdown must still be answered, got {replies:#?}; {}",
        NETWORK.hint()
    );
    assert_eq!(
        refusals,
        1,
        "the line that is not JSON should get one error reply, got {replies:#?}; {}",
        NETWORK.hint()
    );
}

#[test]
fn step4_server_run_returns_only_after_its_threads_end() {
    // The dispatch thread reports AllStopped as its last act (the given `dispatch`
    // shuts its dispatcher down when the intake closes). This sink lingers there for a
    // moment, so a `run` that does not join the dispatch thread returns while it is
    // still inside, and the flag is not yet set.
    let dispatch_ended = Arc::new(AtomicBool::new(false));
    let (record, events) = recording();
    let sink: EventSink = {
        let dispatch_ended = Arc::clone(&dispatch_ended);
        Arc::new(move |event: &Event| {
            record(event);
            if *event == Event::AllStopped {
                thread::sleep(Duration::from_millis(100));
                dispatch_ended.store(true, Ordering::SeqCst);
            }
        })
    };
    let (dispatch_done, client_closed) =
        within(LIMIT, "the server's shutdown", NETWORK, move || {
            let mut client = serve(sink, &events, 4, false).shut_down();
            let dispatch_done = dispatch_ended.load(Ordering::SeqCst);
            // Joined connection threads have shut the socket: the client reads its replies
            // and then the end of the stream. One still running keeps the socket open.
            let _ = client.set_read_timeout(Some(Duration::from_secs(2)));
            let mut replies = Vec::new();
            let client_closed = match client.read_to_end(&mut replies) {
                Ok(_) => true,
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    false
                }
                Err(_) => true,
            };
            (dispatch_done, client_closed)
        });
    assert!(
        client_closed,
        "run() returned, but a connection was still open 2 s later: its reader thread was \
         never stopped (`stop_reading`) or its threads never joined. Stop reading on every \
         connection, join them, then join the dispatch thread; {}",
        NETWORK.hint()
    );
    assert!(
        dispatch_done,
        "run() returned while the dispatch thread was still running (it had not finished \
         shutting its dispatcher down): join the dispatch thread — after the connections, \
         whose readers hold the intake it waits on — before returning; {}",
        NETWORK.hint()
    );
}
