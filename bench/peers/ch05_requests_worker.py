"""A worker for chapter 05's HTTP door, written the Flask original's way: plain
`requests` calls to POST /heartbeat, /get-task and /submit-result.

It registers (a heartbeat that names its capabilities), takes tasks until it has
completed --tasks of them, runs `add`, `divide` and `primes` itself, and sends
each result with its lease token. Then it checks the fence from this side too:
the same result again is accepted (200), a result with a forged token is refused
(409), and an unknown task is 404.

The last line it prints is a JSON summary for the test that runs it:
    {"worker_id": "py1", "completed": [1, 2, 3], "statuses": {...}}

Usage:
    python ch05_requests_worker.py --url http://127.0.0.1:5000 --id py1 --tasks 3
"""

import argparse
import json
import sys
import time

import requests


def count_primes(limit):
    """The sieve of Eratosthenes: how many primes are <= limit."""
    if limit < 2:
        return 0
    sieve = bytearray([1]) * (limit + 1)
    sieve[0] = sieve[1] = 0
    for n in range(2, int(limit**0.5) + 1):
        if sieve[n]:
            sieve[n * n :: n] = bytearray(len(range(n * n, limit + 1, n)))
    return sum(sieve)


def run(task):
    """(status, result or error) for one leased task."""
    kind, args = task["kind"], task["args"]
    try:
        if kind == "add":
            return "COMPLETED", args["a"] + args["b"]
        if kind == "divide":
            if args["b"] == 0:
                raise ZeroDivisionError("Division by zero is not allowed")
            return "COMPLETED", args["a"] // args["b"]
        if kind == "primes":
            return "COMPLETED", count_primes(args["limit"])
        raise ValueError(f"Task type '{kind}' not in capabilities")
    except Exception as error:  # a failed task is a result too
        return "FAILED", {
            "status": "FAILED",
            "error_type": "FunctionExecutionFailure",
            "message": str(error),
            "task_id": str(task["task_id"]),
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:5000")
    parser.add_argument("--id", default="py1")
    parser.add_argument("--capabilities", nargs="+", default=["add", "divide", "primes"])
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=30.0)
    options = parser.parse_args()
    url, worker_id = options.url.rstrip("/"), options.id

    def post(path, body):
        return requests.post(url + path, json=body, timeout=5)

    def register():
        answer = post("/heartbeat", {"worker_id": worker_id, "capabilities": options.capabilities})
        answer.raise_for_status()

    # ANCHOR: loop
    register()
    completed, last = [], None
    deadline = time.monotonic() + options.timeout
    while len(completed) < options.tasks:
        if time.monotonic() > deadline:
            sys.exit(f"only {len(completed)} of {options.tasks} tasks after {options.timeout}s")
        answer = post("/get-task", {"worker_id": worker_id})
        if answer.status_code == 204:  # nothing to do yet
            time.sleep(0.05)
            continue
        if answer.status_code == 404:  # the dispatcher forgot us: register again
            register()
            continue
        answer.raise_for_status()
        task = answer.json()
        status, outcome = run(task)
        result = {"task_id": task["task_id"], "lease_token": task["lease_token"], "status": status}
        result["result" if status == "COMPLETED" else "error"] = outcome
        post("/heartbeat", {
            "worker_id": worker_id,
            "leases": [{"task_id": task["task_id"], "lease_token": task["lease_token"]}],
        }).raise_for_status()
        submitted = post("/submit-result", result)
        submitted.raise_for_status()
        completed.append(task["task_id"])
        last = result
    # ANCHOR_END: loop

    statuses = {
        "resend": post("/submit-result", last).status_code,
        "forged": post("/submit-result", dict(last, lease_token="0" * 16)).status_code,
        "unknown_task": post("/submit-result", dict(last, task_id=10**9)).status_code,
        "malformed": requests.post(url + "/submit-result", data="{", timeout=5).status_code,
        "task": requests.get(f"{url}/task/{last['task_id']}", timeout=5).json()["status"],
    }
    print(json.dumps({"worker_id": worker_id, "completed": completed, "statuses": statuses}))


if __name__ == "__main__":
    main()
