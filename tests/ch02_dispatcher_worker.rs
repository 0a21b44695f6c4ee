//! End to end: the `dispatcher_worker` binary as a reader runs it — the demo's exact
//! lines, its errors and exit codes, and network mode over real sockets.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Running, run, start};

const BIN: &str = env!("CARGO_BIN_EXE_dispatcher_worker");
const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn the_demo_tells_the_original_story() {
    let (code, stdout, stderr) = run(BIN, &["--delay-ms", "0..50"]);
    assert_eq!(code, Some(0), "stderr: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let count = |line: &str| lines.iter().filter(|l| **l == line).count();

    assert_eq!(lines.first(), Some(&"[Dispatcher] Starting 3 workers..."));
    for worker in 0..3 {
        assert_eq!(count(&format!("[Worker {worker}] Started")), 1, "{stdout}");
        assert_eq!(
            count(&format!("[Worker {worker}] Shutting down")),
            1,
            "{stdout}"
        );
    }
    assert_eq!(count("[Dispatcher] All workers started"), 1, "{stdout}");
    assert_eq!(count("[Dispatcher] Waiting for results..."), 1, "{stdout}");
    for id in 1..=5 {
        assert_eq!(
            count(&format!("[Dispatcher] Received task {id}")),
            1,
            "{stdout}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("[Worker ") && l.ends_with("] Processing task 1: 10 add 5")),
        "{stdout}"
    );
    for (id, value) in [(1, 15), (2, 56), (3, 63), (4, 50), (5, 144)] {
        let prefix = format!("[Dispatcher] Got result: Task {id} = {value} (by Worker ");
        assert!(
            lines.iter().any(|l| l.starts_with(&prefix)),
            "missing {prefix}\n{stdout}"
        );
    }
    assert_eq!(lines.last(), Some(&"[Dispatcher] All workers stopped"));
    assert!(
        !stdout.contains('\u{1b}'),
        "no colour codes when piped:\n{stdout}"
    );
}

#[test]
fn tasks_given_as_arguments_run_and_failures_are_results() {
    let (code, stdout, stderr) = run(
        BIN,
        &["--delay-ms", "0", "--workers", "2", "6 divide 0", "2 add 2"],
    );
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert!(
        stdout.contains("Got result: Task 1 failed: division by zero"),
        "{stdout}"
    );
    assert!(stdout.contains("Got result: Task 2 = 4"), "{stdout}");
    assert!(
        stdout.contains("[Dispatcher] Starting 2 workers..."),
        "{stdout}"
    );
}

#[test]
fn random_tasks_are_added_with_tasks_n() {
    let (code, stdout, _) = run(BIN, &["--delay-ms", "0", "--tasks", "7", "--seed", "3"]);
    assert_eq!(code, Some(0));
    // The demo's five tasks, then seven random ones.
    assert_eq!(stdout.matches("Got result: Task").count(), 12, "{stdout}");
    assert!(stdout.contains("Got result: Task 1 = 15"), "{stdout}");

    let (code, stdout, _) = run(BIN, &["--delay-ms", "0", "--tasks", "2", "1 add 1"]);
    assert_eq!(code, Some(0));
    assert_eq!(stdout.matches("Got result: Task").count(), 3, "{stdout}");
}

#[test]
fn a_bad_task_is_a_clear_error_with_exit_code_2() {
    let (code, stdout, stderr) = run(BIN, &["6 pow 0"]);
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("unknown op 'pow'"), "{stderr}");

    let (code, _, stderr) = run(BIN, &["10 add"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("expected '<a> <op> <b>'"), "{stderr}");

    let (code, _, stderr) = run(BIN, &["--workers", "0"]);
    assert_eq!(code, Some(2), "{stderr}");
}

#[test]
fn help_lists_every_option() {
    let (code, stdout, _) = run(BIN, &["--help"]);
    assert_eq!(code, Some(0));
    for option in [
        "--workers",
        "--tasks",
        "--seed",
        "--delay-ms",
        "--listen",
        "--connect",
        "--no-color",
    ] {
        assert!(
            stdout.contains(option),
            "--help does not mention {option}:\n{stdout}"
        );
    }
}

/// Starts network mode on a free port and returns the server and its address.
fn serve(args: &[&str]) -> (Running, String) {
    let mut all = vec!["--listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let mut server = start(BIN, &all);
    let line = server.expect_line(LIMIT, |l| l.starts_with("[Dispatcher] Listening on "));
    let address = line
        .trim_start_matches("[Dispatcher] Listening on ")
        .to_owned();
    (server, address)
}

fn send_lines(address: &str, lines: &[&[u8]], replies: usize) -> Vec<serde_json::Value> {
    let mut stream = TcpStream::connect(address).expect("connects");
    stream
        .set_read_timeout(Some(LIMIT))
        .expect("sets a timeout");
    for line in lines {
        stream.write_all(line).expect("sends");
    }
    let mut reader = BufReader::new(stream);
    (0..replies)
        .map(|_| {
            let mut line = String::new();
            reader.read_line(&mut line).expect("reads a reply");
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("reply is not JSON: {line:?}"))
        })
        .collect()
}

#[test]
fn network_mode_answers_the_client_that_asked() {
    let (mut server, address) = serve(&["--delay-ms", "0..20"]);
    let (code, stdout, stderr) = run(
        BIN,
        &["--connect", &address, "6 divide 0", "12 multiply 12"],
    );
    assert_eq!(code, Some(0), "stderr: {stderr}");
    assert!(
        stdout.contains("[Client] Task 1 failed: division by zero (by Worker "),
        "{stdout}"
    );
    assert!(
        stdout.contains("[Client] Task 2 = 144 (by Worker "),
        "{stdout}"
    );

    // Several clients at once, each getting only its own results.
    let clients: Vec<_> = (0..4)
        .map(|client| {
            let address = address.clone();
            std::thread::spawn(move || {
                let lines: Vec<String> = (1..=10)
                    .map(|id| {
                        format!("{{\"id\": {id}, \"op\": \"add\", \"a\": {client}, \"b\": 1000}}\n")
                    })
                    .collect();
                let lines: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
                (client, send_lines(&address, &lines, 10))
            })
        })
        .collect();
    for handle in clients {
        let (client, replies) = handle.join().expect("client thread");
        for reply in replies {
            assert_eq!(reply["value"].as_i64(), Some(client + 1000), "{reply}");
        }
    }

    server.interrupt();
    assert!(server.wait(LIMIT).success(), "{}", server.output());
}

#[test]
fn network_mode_survives_bad_input() {
    let (mut server, address) = serve(&["--delay-ms", "0"]);
    let oversized = format!("{}\n", "x".repeat(100_000));
    let replies = send_lines(
        &address,
        &[
            b"not json at all\n",
            b"{\"id\": 3, \"op\": \"pow\", \"a\": 1, \"b\": 2}\n",
            b"{\"id\": 4, \"op\": \"add\"}\n",
            b"\xff\xfe\xfd\n",
            b"{\"id\": 5, \"op\": \"add\", \"a\": 2, \"b\": 3}\n",
            // Last: after an oversized line the server closes the connection.
            oversized.as_bytes(),
        ],
        6,
    );
    let by_error = |needle: &str| {
        replies
            .iter()
            .any(|r| r["error"].as_str().is_some_and(|e| e.contains(needle)))
    };
    assert!(by_error("invalid JSON"), "{replies:?}");
    assert!(by_error("pow"), "{replies:?}");
    assert!(by_error("missing field"), "{replies:?}");
    assert!(by_error("not UTF-8"), "{replies:?}");
    assert!(by_error("longer than"), "{replies:?}");
    assert!(
        replies.iter().any(|r| r["id"] == 5 && r["value"] == 5),
        "the good task between the bad lines must still run: {replies:?}"
    );
    // The server is still serving new clients.
    let replies = send_lines(
        &address,
        &[b"{\"id\": 1, \"op\": \"multiply\", \"a\": 6, \"b\": 7}\n"],
        1,
    );
    assert_eq!(replies[0]["value"], 42);

    server.interrupt();
    assert!(server.wait(LIMIT).success(), "{}", server.output());
}

#[test]
fn a_line_that_never_ends_is_refused_at_once_and_its_connection_closed() {
    let (mut server, address) = serve(&["--delay-ms", "0"]);
    let stream = TcpStream::connect(&address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("sets a timeout");
    // 10 MB and no newline, written by a thread of its own: the server must answer
    // while the client is still sending, not after a newline that never comes.
    let mut sending = stream.try_clone().expect("a second handle");
    let sender = std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..160 {
            if sending.write_all(&chunk).is_err() {
                break; // the server closed the connection, as it should
            }
        }
    });
    let mut reader = BufReader::new(stream);
    let mut reply = String::new();
    reader
        .read_line(&mut reply)
        .expect("an answer within 5 s, before the line ends");
    assert!(reply.contains("longer than"), "{reply:?}");
    let mut rest = String::new();
    assert_eq!(
        reader.read_line(&mut rest).ok(),
        Some(0),
        "then the connection is closed, got {rest:?}"
    );
    let _ = sender.join();

    let replies = send_lines(
        &address,
        &[b"{\"id\": 1, \"op\": \"add\", \"a\": 1, \"b\": 1}\n"],
        1,
    );
    assert_eq!(replies[0]["value"], 2, "the server is still serving");
    server.interrupt();
    assert!(server.wait(LIMIT).success(), "{}", server.output());
}

/// One request line, one reply; `None` if the connection fails on the way.
fn try_send_line(address: &str, line: &[u8]) -> Option<serde_json::Value> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(LIMIT)).ok()?;
    stream.write_all(line).ok()?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply).ok()?;
    serde_json::from_str(&reply).ok()
}

/// CPU time (user + system) the process has used, from /proc, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc is there");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = &stat[stat.rfind(')').expect("a command name") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    ticks / 100.0 // USER_HZ is 100 on Linux
}

#[test]
fn running_out_of_file_descriptors_pauses_the_accept_loop_instead_of_spinning() {
    if !std::path::Path::new("/proc/self/stat").exists() {
        return; // the check reads /proc; the behaviour itself is the same elsewhere
    }
    // A server allowed few descriptors: each connection takes three (the socket and
    // two clones), so a couple of dozen clients run it out.
    let script = format!("ulimit -n 32 && exec {BIN} --listen 127.0.0.1:0 --delay-ms 0");
    let mut server = start("sh", &["-c", &script]);
    let line = server.expect_line(LIMIT, |l| l.starts_with("[Dispatcher] Listening on "));
    let address = line
        .trim_start_matches("[Dispatcher] Listening on ")
        .to_owned();

    let clients: Vec<TcpStream> = (0..24)
        .map(|_| TcpStream::connect(&address).expect("the kernel queues the connection"))
        .collect();
    server.expect_line(LIMIT, |l| l.contains("Could not accept a connection"));
    // While the descriptors stay used up, the loop must rest, not spin: over two
    // seconds a spinning accept loop burns most of a core.
    let before = cpu_seconds(server.id());
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_seconds(server.id()) - before;
    assert!(
        used < 0.5,
        "the server used {used:.2} s of CPU in 2 s while out of descriptors: its accept loop spins"
    );

    // Once the clients let go, it serves again (the first tries may still find the
    // descriptors taken while the old connections wind down).
    drop(clients);
    let task = b"{\"id\": 1, \"op\": \"add\", \"a\": 20, \"b\": 22}\n";
    let answered = (0..50).find_map(|_| {
        let answer = try_send_line(&address, task);
        if answer.is_none() {
            std::thread::sleep(Duration::from_millis(200));
        }
        answer
    });
    assert_eq!(
        answered.map(|reply| reply["value"].clone()),
        Some(serde_json::json!(42)),
        "the server must serve again once descriptors are free:\n{}",
        server.output()
    );
    server.interrupt();
    assert!(server.wait(LIMIT).success(), "{}", server.output());
}

#[test]
fn ctrl_c_finishes_queued_tasks_before_exiting() {
    // One worker, 200 ms per task: when Ctrl-C arrives one task is running and four
    // are still queued.
    let (mut server, address) = serve(&["--workers", "1", "--delay-ms", "200"]);
    let mut stream = TcpStream::connect(&address).expect("connects");
    stream
        .set_read_timeout(Some(LIMIT))
        .expect("sets a timeout");
    for id in 1..=5 {
        let line = format!("{{\"id\": {id}, \"op\": \"add\", \"a\": {id}, \"b\": {id}}}\n");
        stream.write_all(line.as_bytes()).expect("sends");
    }
    server.expect_line(LIMIT, |l| l == "[Dispatcher] Received task 5");
    server.interrupt();

    let replies: Vec<serde_json::Value> = BufReader::new(stream)
        .lines()
        .map_while(Result::ok)
        .map(|line| serde_json::from_str(&line).expect("JSON reply"))
        .collect();
    let mut answered: Vec<i64> = replies.iter().filter_map(|r| r["value"].as_i64()).collect();
    answered.sort_unstable();
    assert_eq!(
        answered,
        vec![2, 4, 6, 8, 10],
        "every queued task answered: {replies:?}"
    );

    assert!(server.wait(LIMIT).success(), "{}", server.output());
    let output = server.output();
    assert!(
        output.contains("Shutting down: no new connections"),
        "{output}"
    );
    assert!(
        output.ends_with("[Dispatcher] All workers stopped"),
        "{output}"
    );
}

#[test]
fn a_sweep_of_bad_lines_gets_json_answers_and_the_server_serves_on() {
    let (mut server, address) = serve(&["--delay-ms", "0"]);
    let samples: [&[u8]; 2] = [
        br#"{"id": 7, "op": "add", "a": 10, "b": 5}"#,
        br#"{"id": 8, "op": "divide", "a": 1, "b": 0}"#,
    ];
    let mut frames = common::bad_frames(2, &samples, 200_000);
    // The oversized line closes its connection: it goes last, on its own.
    let oversized = frames.pop().expect("an oversized frame");
    let stream = TcpStream::connect(&address).expect("connects");
    stream.set_read_timeout(Some(LIMIT)).expect("a timeout");
    let reader_stream = stream.try_clone().expect("a second handle");
    // Read the answers while writing, so neither side's buffer fills up.
    let reader = std::thread::spawn(move || {
        BufReader::new(reader_stream)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    let mut writer = stream;
    for frame in &frames {
        writer.write_all(frame).expect("sends");
        writer.write_all(b"\n").expect("sends");
    }
    writer
        .shutdown(std::net::Shutdown::Write)
        .expect("half-closes");
    let answers = reader.join().expect("the reader");
    assert!(
        answers.len() >= frames.len() / 2,
        "only {} answers to {} lines",
        answers.len(),
        frames.len()
    );
    for answer in &answers {
        let reply: serde_json::Value = serde_json::from_str(answer)
            .unwrap_or_else(|_| panic!("every answer is a JSON line, got {answer:?}"));
        assert!(
            reply.get("error").is_some() || reply.get("value").is_some(),
            "{reply}"
        );
    }
    let too_long = send_lines(&address, &[&[oversized.as_slice(), b"\n"].concat()], 1);
    assert!(
        too_long[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("longer than")),
        "{too_long:?}"
    );
    let replies = send_lines(
        &address,
        &[b"{\"id\": 1, \"op\": \"multiply\", \"a\": 6, \"b\": 7}\n"],
        1,
    );
    assert_eq!(replies[0]["value"], 42, "the server still serves");
    server.interrupt();
    assert!(server.wait(LIMIT).success(), "{}", server.output());
}
