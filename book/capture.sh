#!/usr/bin/env bash
# Regenerates every piece of program output the book shows, from real runs, so no
# output in the book is ever typed by hand.
#
#   book/capture.sh          demo output only (a few seconds)
#   book/capture.sh --bench  also the "Measure it" tables and charts (several
#                            minutes; run it on an otherwise idle machine)
#   book/capture.sh --bench-only   the tables and charts alone
#
# Each chapter's section below writes into book/src/generated/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=book/src/generated
mkdir -p "$out"
export NO_COLOR=1
mode=${1:-}

# "Measure it": one `bench all` run writes every chapter's table, results.json, the
# machine line and the SVG charts into a scratch folder; the book takes the tables
# (chNN-bench.txt), a "machine, date" line per chapter (chNN-bench-machine.txt) and
# the charts (chNN-bench*.svg). Progress bars go to stderr only on a terminal.
bench_tables() {
  local results table chapter chart
  results=$(mktemp -d)
  target/release/bench all --out "$results" > "$results/stdout.txt"
  for table in "$results"/ch[0-9][0-9]-bench.txt; do
    chapter=$(basename "$table" -bench.txt)
    { echo "\$ bench $chapter"; cat "$table"; } > "$out/$chapter-bench.txt"
    cp "$results/machine.txt" "$out/$chapter-bench-machine.txt"
    echo "wrote $out/$chapter-bench.txt and $out/$chapter-bench-machine.txt"
  done
  for chart in "$results"/ch[0-9][0-9]-bench*.svg; do
    cp "$chart" "$out/"
    echo "wrote $out/$(basename "$chart")"
  done
  sed -n '/^Summary:/,$p' "$results/stdout.txt"
  rm -rf "$results"
}
if [[ $mode == --bench-only ]]; then
  cargo build --quiet --release -p bench
  bench_tables
  exit 0
fi

cargo build --quiet --release --bins

# The command line as a reader would type it: arguments with spaces in quotes.
show() {
  local line='$' arg
  for arg in "$@"; do
    if [[ $arg == *\"* ]]; then line+=" '$arg'" # JSON: single quotes, as typed
    elif [[ $arg =~ [^A-Za-z0-9_./:=,+-] ]]; then line+=" \"$arg\""
    else line+=" $arg"; fi
  done
  echo "$line"
}

capture() { # capture FILE COMMAND... : the command line, then its output
  local file=$1; shift
  { show "$@"; "$@" 2>&1; } | sed "s|target/release/||" > "$out/$file"
  echo "wrote $out/$file"
}

# --- compiler errors you may meet (book/traps/) --------------------------------
# Each trap is a learner's mistake cut down to std; rustc's own words go in the book.
traps_out=$(mktemp -d)
for trap in book/traps/*.rs; do
  name=$(basename "$trap" .rs)
  rustc --edition 2024 --crate-type lib --emit metadata --color never \
      --out-dir "$traps_out" "$trap" 2>&1 \
    | sed -E '/^error: aborting due to/d; /^For more information about this error/d; s|/rustc/[0-9a-f]*/|/rustc/…/|' \
    > "$out/trap-${name%-E*}.txt" || true
  echo "wrote $out/trap-${name%-E*}.txt"
done
rm -rf "$traps_out"

# --- chapter 02 ---------------------------------------------------------------
capture ch02-demo.txt target/release/dispatcher_worker
capture ch02-own-tasks.txt target/release/dispatcher_worker --workers 2 "6 divide 0" "2 add 2" "9223372036854775807 multiply 2"
capture ch02-bad-task.txt target/release/dispatcher_worker "6 pow 0" || true
capture ch02-help.txt target/release/dispatcher_worker --help

# Network mode: a server on a free port, a client, a malformed line, then Ctrl-C.
network() {
  local log address
  log=$(mktemp)
  target/release/dispatcher_worker --listen 127.0.0.1:0 --seed 7 > "$log" 2>&1 &
  local server=$!
  until grep -q "Listening on" "$log"; do sleep 0.1; done
  address=$(sed -n 's/.*Listening on //p' "$log")
  echo "\$ dispatcher_worker --connect $address \"6 divide 0\" \"12 multiply 12\""
  target/release/dispatcher_worker --connect "$address" "6 divide 0" "12 multiply 12"
  echo "\$ # any TCP client sending the line: not json"
  python3 -c "
import socket, sys
host, port = sys.argv[1].rsplit(':', 1)
with socket.create_connection((host, int(port))) as s:
    s.sendall(b'not json\\n')
    print(s.makefile().readline(), end='')" "$address"
  kill -INT "$server"
  wait "$server"
  echo
  echo "(the server's own output, ended with Ctrl-C)"
  sed "s/127.0.0.1:[0-9]*/$address/" "$log"
  rm -f "$log"
}
network > "$out/ch02-network.txt"
echo "wrote $out/ch02-network.txt"

# --- chapter 03 ---------------------------------------------------------------
# A pipeline in the background on the default ports, producers one after another
# (so the story reads in order), then a DIE; the pipeline's own log is captured too.
capture_pipeline_session() {
  local pipeline_log
  pipeline_log=$(mktemp)
  target/release/zmq_pipeline --workers 3 > "$pipeline_log" 2>&1 &
  local pipeline=$!
  until grep -q "Pulling tasks on" "$pipeline_log"; do sleep 0.1; done
  capture ch03-producer-1.txt target/release/zmq_producer --topic 1 --tasks 4
  capture ch03-producer-10.txt target/release/zmq_producer --topic 10 --tasks 3 --kind sleep
  capture ch03-die.txt target/release/zmq_producer --topic stopper --tasks 0 --die
  wait "$pipeline"
  { echo "\$ zmq_pipeline --workers 3"; cat "$pipeline_log"; } > "$out/ch03-pipeline.txt"
  rm -f "$pipeline_log"
  echo "wrote $out/ch03-pipeline.txt"
}
capture_pipeline_session
capture ch03-no-pipeline.txt target/release/zmq_producer --topic 7 --tasks 1 --timeout 1 || true
# Several topics in one producer, and a client written the original pyzero way
# (send_json in, recv_multipart + json.loads out) against our pipeline. Needs the
# pyzmq venv under target/python-venv, which the interop test or the bench makes.
capture_interop_session() {
  local py=target/python-venv/bin/python pipeline_log
  if [[ ! -x $py ]]; then
    echo "skipped ch03-pyzero-client.txt: run 'cargo test -p workbook-ch03' once to make $py"
    return
  fi
  pipeline_log=$(mktemp)
  target/release/zmq_pipeline --workers 2 > "$pipeline_log" 2>&1 &
  local pipeline=$!
  until grep -q "Pulling tasks on" "$pipeline_log"; do sleep 0.1; done
  capture ch03-producer-topics.txt target/release/zmq_producer --topic 1 --topic 1x --tasks 4
  local scenario='{"subscribers": {"one_and_1x": ["1", "1x"], "ten": ["10"], "cafe": ["café"], "number_1": [1], "number_10": [10]}, "tasks": [{"topic": "1", "info": {"id": 1, "kind": "add", "a": 1, "b": 0}}, {"topic": "10", "info": {"id": 1, "kind": "add", "a": 10, "b": 0}}, {"topic": "1x", "info": {"id": 2, "kind": "multiply", "a": 6, "b": 7}}, {"topic": "café", "info": {"id": 3, "kind": "add", "a": 2, "b": 3}}, {"topic": 1, "info": {"id": 4, "kind": "add", "a": 1, "b": 1}}, {"topic": 10, "info": {"id": 5, "kind": "add", "a": 1, "b": 1}}], "expect": {"one_and_1x": 2, "ten": 1, "cafe": 1, "number_1": 2, "number_10": 1}}'
  capture ch03-pyzero-client.txt "$py" bench/peers/ch03_pyzero_client.py \
    tcp://127.0.0.1:5557 tcp://127.0.0.1:5558 "$scenario"
  sed -i 's|target/python-venv/bin/||; $d' "$out/ch03-pyzero-client.txt" # the last line is the test's JSON summary
  target/release/zmq_producer --topic stopper --tasks 0 --die > /dev/null
  wait "$pipeline"
  rm -f "$pipeline_log"
}
capture_interop_session
# --- chapter 04 ---------------------------------------------------------------
# A dispatcher and a 3-thread worker on free ports; a client submits a sum, a
# raising task, a kind the worker does not run, a task that overruns the 2 s
# deadline, and asks about an id that does not exist. Then both logs.
pull_session() {
  local dlog wlog workers clients
  dlog=$(mktemp); wlog=$(mktemp)
  target/release/pull_dispatcher --workers 'tcp://127.0.0.1:*' --clients 'tcp://127.0.0.1:*' > "$dlog" 2>&1 &
  local dispatcher=$!
  until grep -q "Workers ask on" "$dlog"; do sleep 0.1; done
  workers=$(grep -o 'tcp://[0-9.:]*' "$dlog" | sed -n 1p)
  clients=$(grep -o 'tcp://[0-9.:]*' "$dlog" | sed -n 2p)
  target/release/pull_worker 3 "$workers" > "$wlog" 2>&1 &
  local worker=$!
  client() {
    show pull_client "$@"
    target/release/pull_client --endpoint "$clients" "$@" 2>&1 || true
  }
  client submit add '{"a": 10, "b": 5}' --wait
  client submit fail '{"message": "raised on purpose"}' --wait
  client submit pickle '{"payload": "gASVKAAAAAAAAAB9lC4="}' --wait
  client submit sleep '{"ms": 3000}' --wait
  client status no-such-task
  sleep 1.2 # the overdue task's late result arrives and is refused
  kill -INT "$worker" "$dispatcher"
  wait "$worker" "$dispatcher" || true
  echo
  echo "(the dispatcher's output)"
  sed "s|$workers|tcp://127.0.0.1:5556|; s|$clients|tcp://127.0.0.1:5555|" "$dlog"
  echo
  echo "(the worker's output)"
  sed "s|$workers|tcp://127.0.0.1:5556|" "$wlog"
  rm -f "$dlog" "$wlog"
}
pull_session | sed -E 's/[0-9a-f]{8,}-([0-9]+)/t\1/g' > "$out/ch04-session.txt"
echo "wrote $out/ch04-session.txt"
capture ch04-worker-help.txt target/release/pull_worker --help
# What the compiler says to two threads sharing one socket (the build must fail).
{ show cargo build -p solution04 --example shared_socket --features show-compile-error
  cargo build --quiet -p solution04 --example shared_socket --features show-compile-error 2>&1 \
    | sed -E "s|/[^ ]*/registry/src/[^/]*/|~/.cargo/registry/src/…/|; s|/rustc/[0-9a-f]*/|/rustc/…/|" || true
} > "$out/ch04-shared-socket.txt"
echo "wrote $out/ch04-shared-socket.txt"
# --- chapter 05 ---------------------------------------------------------------
# A lease dispatcher on a free port and a fresh database, with short intervals so
# the story takes seconds. A primes task waits for a worker that can run it; the
# first one that can is killed mid-task (SIGKILL); the monitor gives the task back
# and a rescuer finishes it as attempt 2. Endpoints are shown as the default 5557.
lease_session() {
  local dir ep workers=()
  dir=$(mktemp -d)
  target/release/lease_dispatcher --bind 'tcp://127.0.0.1:*' --db "$dir/tasks.db" \
    --dead-after 2 --monitor-every 0.5 > "$dir/dispatcher.log" 2>&1 &
  local dispatcher=$!
  until grep -q "Serving on" "$dir/dispatcher.log"; do sleep 0.1; done
  ep=$(grep -o 'tcp://[0-9.:]*' "$dir/dispatcher.log" | head -1)
  lease_worker() { # lease_worker ID KIND... : a worker in the background, logging to ID.log
    local id=$1; shift
    target/release/lease_worker --id "$id" --capabilities "$@" --endpoint "$ep" \
      --heartbeat-every 0.5 --cache-dir "$dir/$id" > "$dir/$id.log" 2>&1 &
    workers+=($!)
  }
  shown() { show "$@"; "target/release/$1" "${@:2}" --endpoint "$ep" 2>&1 || true; }
  lease_worker w1 add sleep
  shown add_task 1 6000000 trial-division
  sleep 0.3
  shown stats --task 1
  lease_worker doomed primes
  local doomed=$!
  until grep -q "→ doomed: RUNNING" "$dir/dispatcher.log"; do sleep 0.1; done
  echo "\$ kill -9 <doomed's pid>    # mid-task"
  kill -9 "$doomed"
  until grep -q "Task 1: back in the queue" "$dir/dispatcher.log"; do sleep 0.1; done
  lease_worker rescuer primes
  until target/release/stats --endpoint "$ep" --task 1 | grep -q COMPLETED; do sleep 0.2; done
  shown stats --task 1
  shown add_task 2 100000 --wait
  shown stats
  shown stats --health
  kill -INT "${workers[@]}" "$dispatcher" 2>/dev/null || true
  wait 2>/dev/null || true
  echo
  echo "(the dispatcher's output)"
  cat "$dir/dispatcher.log"
  echo
  echo "(the rescuer's output)"
  cat "$dir/rescuer.log"
  rm -rf "$dir"
}
lease_session | sed -E "s|tcp://127.0.0.1:[0-9]+|tcp://127.0.0.1:5557|g; s|/tmp/tmp\.[A-Za-z0-9]+/|./|g; s/\"uptime_ms\":[0-9]+/\"uptime_ms\":…/" > "$out/ch05-session.txt"
echo "wrote $out/ch05-session.txt"

# The dispatcher killed (SIGKILL) while a worker runs a task, and started again
# on the same database: the worker keeps the result on disk and delivers it.
lease_restart() {
  local dir ep
  dir=$(mktemp -d)
  dispatch() {
    target/release/lease_dispatcher --bind "$1" --db "$dir/tasks.db" --dead-after 30 \
      >> "$dir/dispatcher.log" 2>&1 &
  }
  dispatch 'tcp://127.0.0.1:*'
  local first=$!
  until grep -q "Serving on" "$dir/dispatcher.log"; do sleep 0.1; done
  ep=$(grep -o 'tcp://[0-9.:]*' "$dir/dispatcher.log" | head -1)
  target/release/lease_worker --id w1 --capabilities primes --endpoint "$ep" \
    --timeout 0.5 --cache-dir "$dir/cache" > "$dir/worker.log" 2>&1 &
  local worker=$!
  target/release/add_task 1 6000000 trial-division --endpoint "$ep" > /dev/null
  until grep -q "Running task 1" "$dir/worker.log"; do sleep 0.1; done
  kill -9 "$first"; wait "$first" 2>/dev/null || true
  echo "(kill -9: the dispatcher dies here, mid-task)" >> "$dir/dispatcher.log"
  until grep -q "Dispatcher unreachable; 1 result" "$dir/worker.log"; do sleep 0.1; done
  echo "\$ ls <the worker's cache dir>    # while the dispatcher is down"
  ls "$dir/cache"
  dispatch "$ep"
  until grep -q "Delivered task 1" "$dir/worker.log"; do sleep 0.1; done
  echo "\$ stats --task 1"
  target/release/stats --endpoint "$ep" --task 1
  local second=$!
  kill -INT "$worker" "$second"; wait 2>/dev/null || true
  echo
  echo "(the dispatcher's output, both runs)"
  cat "$dir/dispatcher.log"
  echo
  echo "(the worker's output)"
  cat "$dir/worker.log"
  rm -rf "$dir"
}
lease_restart | sed -E "s|tcp://127.0.0.1:[0-9]+|tcp://127.0.0.1:5557|g; s|/tmp/tmp\.[A-Za-z0-9]+/|./|g" > "$out/ch05-restart.txt"
echo "wrote $out/ch05-restart.txt"
capture ch05-worker-help.txt target/release/lease_worker --help
# Faults: a short run of the chaos command (the README's 10,000 tasks take a minute).
capture ch05-chaos.txt target/release/chaos ch05 --tasks 3000 --bin-dir target/release
# The HTTP front door driven with curl, as the Flask original's README drives its
# queue: a task played by hand as a worker would (register, lease, heartbeat,
# result), the refusals, then a real lease_worker and add_task through the door.
# It needs port 5000 free, since the commands show the original's port.
http_session() {
  local work w=' %{http_code}\n' d wk lease token
  work=$(mktemp -d)
  local bin=$PWD/target/release
  (
    cd "$work"
    run() { show "$@"; "$@" 2>&1; }
    "$bin/lease_dispatcher" --db tasks.db --bind 'tcp://127.0.0.1:*' --http > dispatcher.log 2>&1 &
    d=$!
    until grep -q "Serving on" dispatcher.log; do sleep 0.1; done
    echo '$ lease_dispatcher --db tasks.db --http            # in the background'
    run curl -s -w "$w" -X POST localhost:5000/submit-task -d '{"kind": "primes", "args": {"limit": 100000}}'
    run curl -s -w "$w" -X POST localhost:5000/heartbeat -d '{"worker_id": "curl", "capabilities": ["primes"]}'
    lease=$(curl -s -X POST localhost:5000/get-task -d '{"worker_id": "curl"}')
    show curl -s -w "$w" -X POST localhost:5000/get-task -d '{"worker_id": "curl"}'
    echo "$lease 200"
    token=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["lease_token"])' "$lease")
    run curl -s -w "$w" -X POST localhost:5000/heartbeat -d "{\"worker_id\": \"curl\", \"leases\": [{\"task_id\": 1, \"lease_token\": \"$token\"}]}"
    run curl -s -w "$w" -X POST localhost:5000/submit-result -d "{\"task_id\": 1, \"lease_token\": \"$token\", \"status\": \"COMPLETED\", \"result\": {\"limit\": 100000, \"algorithm\": \"sieve\", \"count\": 9592}}"
    run curl -s -w "$w" localhost:5000/task/1
    run curl -s -w "$w" -X POST localhost:5000/get-task -d '{"worker_id": "curl"}'
    run curl -s -w "$w" -X POST localhost:5000/submit-result -d '{"task_id": 1, "lease_token": "0badc0ffee", "status": "COMPLETED", "result": 0}'
    run curl -s -w "$w" localhost:5000/task/42
    run curl -s -w "$w" -X POST localhost:5000/submit-task -d '{"kind": "primes", "args": {"limit": "many"}}'
    run curl -s -w "$w" -X POST localhost:5000/submit-task -d '{"kind": "primes"'
    "$bin/lease_worker" --id worker-1 --capabilities primes --http > worker.log 2>&1 &
    wk=$!
    until grep -q "asking" worker.log; do sleep 0.1; done
    echo '$ lease_worker --id worker-1 --capabilities primes --http     # in the background'
    show add_task 5 100000 --http; "$bin/add_task" 5 100000 --http
    until [ "$(curl -s localhost:5000/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"]["completed"])')" = 6 ]; do sleep 0.1; done
    run curl -s -w "$w" localhost:5000/stats
    show stats --http; "$bin/stats" --http
    run curl -s -w "$w" localhost:5000/health
    kill -INT "$wk"; wait "$wk" || true
    kill -INT "$d"; wait "$d" || true
    echo
    echo "(what the dispatcher printed, ended with Ctrl-C)"
    cat dispatcher.log
  )
  rm -rf "$work"
}
http_session | sed -E 's|tcp://127\.0\.0\.1:[0-9]+|tcp://127.0.0.1:5557|g' > "$out/ch05-http-session.txt"
echo "wrote $out/ch05-http-session.txt"
# --- chapter 06 ---------------------------------------------------------------
# Starts grpc_server with ARGS on a free port in the background; sets $server and
# $address, and the log file $log.
grpc_serve() {
  log=$(mktemp)
  target/release/grpc_server --listen 127.0.0.1:0 "$@" > "$log" 2>&1 &
  server=$!
  until grep -q "Listening on" "$log"; do
    kill -0 "$server" 2> /dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  address=$(sed -n 's/.*Listening on \([^ ]*\).*/\1/p' "$log")
}
grpc_stop_and_show_log() { # Ctrl-C the server, then show what it printed
  kill -INT "$server"
  wait "$server"
  echo
  echo "(the server's own output, ended with Ctrl-C)"
  cat "$log"
  rm -f "$log"
}
grpc_client() { # echo the command line, then run it against $address
  echo "\$ grpc_client $*"
  target/release/grpc_client --address "$address" "$@" 2>&1 || true
}
grpc_session() {
  grpc_serve --max-workers 1
  echo "\$ grpc_server --max-workers 1   # in another terminal"
  grpc_client compute 12 multiply 12
  grpc_client compute 6 divide 0
  grpc_client compute 7 add 1 --processing-time=-1
  grpc_client health
  grpc_client list
  # One worker busy for a second, a call with a 200 ms deadline queued behind it.
  target/release/grpc_client --address "$address" compute 1 add 1 --id busy --processing-time 1 > /dev/null &
  local busy=$!
  sleep 0.3
  grpc_client compute 2 add 2 --id late --deadline-ms 200
  grpc_client compute 3 add 3 --id third
  wait "$busy"
  grpc_stop_and_show_log
}
grpc_session | sed -E "s/127.0.0.1:[0-9]+/127.0.0.1:PORT/" > "$out/ch06-session.txt"
echo "wrote $out/ch06-session.txt"
grpc_waves() {
  for workers in 10 20; do
    grpc_serve --max-workers "$workers" --quiet
    echo "\$ grpc_server --max-workers $workers --quiet   # in another terminal"
    grpc_client load --concurrency 20 --requests 20 --processing-time 0.1
    kill -INT "$server"; wait "$server"; rm -f "$log"
  done
}
grpc_waves | sed -E "s/127.0.0.1:[0-9]+/127.0.0.1:PORT/" > "$out/ch06-waves.txt"
echo "wrote $out/ch06-waves.txt"
grpc_limit() {
  grpc_serve --max-workers 2 --max-concurrent-rpcs 4 --quiet
  echo "\$ grpc_server --max-workers 2 --max-concurrent-rpcs 4 --quiet   # in another terminal"
  grpc_client load --concurrency 8 --requests 8 --processing-time 0.2
  kill -INT "$server"; wait "$server"; rm -f "$log"
}
grpc_limit | sed -E "s/127.0.0.1:[0-9]+/127.0.0.1:PORT/" > "$out/ch06-limit.txt"
echo "wrote $out/ch06-limit.txt"
capture ch06-server-help.txt target/release/grpc_server --help
dispatcher_client() { # as grpc_client, with JSON arguments shown as typed
  show grpc_client "$@"
  target/release/grpc_client --address "$address" "$@" 2>&1 || true
}
token_of() { sed -n 's/.*token \([0-9a-f]*\)$/\1/p'; }
grpc_dispatcher() {
  grpc_serve --max-workers 2 --lease 1
  echo "\$ grpc_server --max-workers 2 --lease 1   # in another terminal"
  dispatcher_client submit add '{"a": 2, "b": 3}'
  local claimed first second
  claimed=$(dispatcher_client claim w1 add primes); echo "$claimed"
  first=$(token_of <<< "$claimed")
  dispatcher_client status 1
  dispatcher_client result 1 "$first" 5
  dispatcher_client status 1
  dispatcher_client submit primes '{"limit": 100000}'
  claimed=$(dispatcher_client claim w1 add primes); echo "$claimed"
  first=$(token_of <<< "$claimed")
  echo "(w1 goes silent; its 1 s lease runs out)"
  sleep 1.5
  claimed=$(dispatcher_client claim w2 primes); echo "$claimed"
  second=$(token_of <<< "$claimed")
  dispatcher_client result 2 "$first" 9592
  dispatcher_client result 2 "$second" 9592
  dispatcher_client status 2
  dispatcher_client status 424242
  dispatcher_client submit add '{not json'
  dispatcher_client stats
  grpc_stop_and_show_log
}
grpc_dispatcher | sed -E "s/127.0.0.1:[0-9]+/127.0.0.1:PORT/" > "$out/ch06-dispatcher.txt"
echo "wrote $out/ch06-dispatcher.txt"

# --- chapter 07 ---------------------------------------------------------------
# A nats-server with JetStream on a free port and a store in a temporary folder,
# shown as the default nats://127.0.0.1:4222. Worker1 runs Add and Divide only, so
# the multiply and subtract tasks wait QUEUED until Worker2 joins; then a worker is
# killed (SIGKILL) mid-task and another finishes it when the lease runs out; then
# a task nobody runs reaches its deadline.
nats_session() {
  local dir port url server nats_bin pids=()
  nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  dir=$(mktemp -d)
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$nats_bin" -js -sd "$dir/store" -a 127.0.0.1 -p "$port" 2> "$dir/server.log" &
  server=$!
  until grep -qs "Server is ready" "$dir/server.log"; do sleep 0.1; done
  url=nats://127.0.0.1:$port
  nats_worker() { # nats_worker NAME ARGS... : in the background, logging to NAME.log
    local name=$1; shift
    target/release/nats_worker -w "$name" --server "$url" "$@" > "$dir/$name.log" 2>&1 &
    pids+=($!)
    until grep -qs "Ready for" "$dir/$name.log"; do sleep 0.1; done
  }
  controller() { # controller LOG ARGS... : shown as typed, run in the background
    local log=$1; shift
    show nats_controller "$@"
    target/release/nats_controller --server "$url" "$@" > "$dir/$log" 2>&1 &
  }
  echo "\$ nats_worker -w Worker1 -c Add Divide &"
  nats_worker Worker1 -c Add Divide
  controller first.log "10 add 5" "7 multiply 8" "100 subtract 37" "6 divide 0" --processing-time 0.2
  local first=$!
  until grep -qs "QUEUED on tasks.divide" "$dir/first.log"; do sleep 0.1; done
  sleep 1
  echo "\$ nats_worker -w Worker2 -c Subtract Multiply &    # a second later"
  nats_worker Worker2 -c Subtract Multiply
  wait "$first"
  cat "$dir/first.log"
  kill -INT "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  pids=()
  echo
  echo "\$ nats_worker -w Doomed -c Add --lease 1 &"
  nats_worker Doomed -c Add --lease 1
  local doomed=${pids[0]}
  controller second.log "2 add 2" --processing-time 3 --lease 1 --timeout 0
  local second=$!
  until grep -qs "RUNNING on Doomed" "$dir/second.log"; do sleep 0.1; done
  echo "\$ kill -9 <Doomed's pid>    # mid-task"
  { kill -9 "$doomed"; wait "$doomed"; } 2>/dev/null || true
  echo "\$ nats_worker -w Rescuer -c Add --lease 1 &"
  nats_worker Rescuer -c Add --lease 1
  wait "$second"
  cat "$dir/second.log"
  echo
  echo "(Rescuer's output)"
  cat "$dir/Rescuer.log"
  echo
  controller third.log "1 subtract 1" --timeout 1
  wait $!
  cat "$dir/third.log"
  kill -INT "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
nats_session | sed -E "s|nats://127.0.0.1:[0-9]+|nats://127.0.0.1:4222|g" > "$out/ch07-session.txt"
echo "wrote $out/ch07-session.txt"
capture ch07-worker-help.txt target/release/nats_worker --help


if [[ $mode == --bench ]]; then
  bench_tables
fi
