#!/usr/bin/env python3
"""Chapter 05's Python original's worker, as the bench runs it: a loop that polls
the Flask dispatcher with `requests` — POST /get-task, run the task, POST
/submit-result with its lease token — and a heartbeat thread, as the original's
worker.py does. (ch05_requests_worker.py is the same loop against the Rust
dispatcher's HTTP door, with checks of the fence; this one only works.)

When there is nothing to do it waits --poll seconds and asks again. It runs until
it is killed: the bench counts the completed tasks in the database file.

    ch05_requests_poller.py --url http://127.0.0.1:PORT --id py1 [--poll 0.1]
"""
import argparse
import threading
import time

import requests


def run(task):
    """The task kinds the bench queues."""
    args = task["args"]
    if task["kind"] == "add":
        return args["a"] + args["b"]
    raise ValueError(f"Task type '{task['kind']}' not in capabilities")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:5000")
    parser.add_argument("--id", default="py1")
    parser.add_argument("--poll", type=float, default=0.1)
    parser.add_argument("--heartbeat-every", type=float, default=30.0)
    options = parser.parse_args()
    url, worker_id = options.url.rstrip("/"), options.id

    requests.post(url + "/heartbeat", json={"worker_id": worker_id, "capabilities": ["add"]},
                  timeout=5).raise_for_status()

    def heartbeats():
        while True:
            time.sleep(options.heartbeat_every)
            requests.post(url + "/heartbeat", json={"worker_id": worker_id}, timeout=5)

    threading.Thread(target=heartbeats, daemon=True).start()
    while True:
        answer = requests.post(url + "/get-task", json={"worker_id": worker_id}, timeout=5)
        if answer.status_code == 204:
            time.sleep(options.poll)
            continue
        answer.raise_for_status()
        task = answer.json()
        result = {"task_id": task["task_id"], "lease_token": task["lease_token"],
                  "status": "COMPLETED", "result": run(task)}
        requests.post(url + "/submit-result", json=result, timeout=5).raise_for_status()


if __name__ == "__main__":
    main()
