#!/usr/bin/env bash
# Regenerates every piece of program output the book shows, from real runs, so no
# output in the book is ever typed by hand.
#
#   book/capture.sh          demo output only (a few seconds)
#   book/capture.sh --bench  also the "Measure it" tables (several minutes; run it
#                            on an otherwise idle machine)
#
# Each chapter's section below writes into book/src/generated/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=book/src/generated
mkdir -p "$out"
export NO_COLOR=1

cargo build --quiet --release --bins

capture() { # capture FILE COMMAND... : the command line, then its output
  local file=$1; shift
  { echo "\$ $*"; "$@" 2>&1; } | sed "s|target/release/||" > "$out/$file"
  echo "wrote $out/$file"
}

# --- chapter 02 ---------------------------------------------------------------
capture ch02-demo.txt target/release/dispatcher_worker
capture ch02-own-tasks.txt target/release/dispatcher_worker --workers 2 "6 divide 0" "2 add 2" "9223372036854775807 multiply 2"
capture ch02-bad-task.txt target/release/dispatcher_worker "6 pow 0" || true
capture ch02-help.txt target/release/dispatcher_worker --help

# --- chapter 03 ---------------------------------------------------------------
# A pipeline in the background on the default ports, producers one after another
# (so the story reads in order), then a DIE; the pipeline's own log is captured too.
capture_pipeline_session() {
  local pipeline_log
  pipeline_log=$(mktemp)
  target/release/zmq_pipeline --workers 3 > "$pipeline_log" 2>&1 &
  local pipeline=$!
  sleep 0.5
  capture ch03-producer-1.txt target/release/zmq_producer --topic 1 --tasks 4
  capture ch03-producer-10.txt target/release/zmq_producer --topic 10 --tasks 3 --kind sleep
  capture ch03-die.txt target/release/zmq_producer --tasks 0 --die
  wait "$pipeline"
  { echo "\$ zmq_pipeline --workers 3"; cat "$pipeline_log"; } > "$out/ch03-pipeline.txt"
  rm -f "$pipeline_log"
  echo "wrote $out/ch03-pipeline.txt"
}
capture_pipeline_session
capture ch03-no-pipeline.txt target/release/zmq_producer --topic 7 --tasks 1 --timeout 1 || true
capture ch03-pipeline-help.txt target/release/zmq_pipeline --help
capture ch03-producer-help.txt target/release/zmq_producer --help

if [[ "${1:-}" == "--bench" ]]; then
  capture ch02-bench.txt target/release/bench ch02
  capture ch03-bench.txt target/release/bench ch03
fi
