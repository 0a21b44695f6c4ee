#!/usr/bin/env python3
"""Chapter 04's Python worker, written from the book's protocol section only.

It talks to the Rust `pull_dispatcher` (or to pull_dispatcher.py) over REQ/REP and
has the shape of the original pull_worker.py: a multiprocessing pool of
NUM_PROCESSES, a dict of running tasks, and a request for work only while
len(running) < NUM_PROCESSES. What it runs is the book's closed set of task kinds,
never shipped code.

    pull_worker.py NUM_PROCESSES DISPATCHER_URL [--timeout SECONDS]

Ctrl-C (SIGINT) stops it and its pool.
"""
import json
import multiprocessing
import sys
import time

import zmq

IDLE_WAIT = 0.001  # seconds to pause when a round of the loop changed nothing


def count_primes_up_to(limit):
    n = limit + 1  # the sieve counts the primes below n
    if n < 3:
        return 0
    composite = bytearray(n)
    count = 0
    for candidate in range(2, n):
        if not composite[candidate]:
            count += 1
            multiples = range(candidate * candidate, n, candidate)
            composite[candidate * candidate :: candidate] = b"\x01" * len(multiples)
    return count


OPS = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a // b,
}


class BadTask(Exception):
    """The task is not one of the kinds this worker runs."""


def decode(kind, args):
    """Checks kind and args; returns a function of no arguments that runs the task."""
    if not isinstance(args, dict):
        raise BadTask(f"args must be an object, got {args!r}")
    try:
        if kind in OPS:
            a, op, b = int(args["a"]), OPS[kind], int(args["b"])
            return lambda: op(a, b)
        if kind == "sleep":
            ms = int(args["ms"])
            return lambda: (time.sleep(ms / 1000), ms)[1]
        if kind == "primes":
            limit = int(args["limit"])
            return lambda: count_primes_up_to(limit)
        if kind == "fail":
            message = str(args["message"])

            def fail():
                raise RuntimeError(message)

            return fail
        if kind == "echo":
            data = args["data"]
            return lambda: data
    except (KeyError, TypeError, ValueError) as error:
        raise BadTask(f"cannot run {kind!r}: bad args {args!r} ({error!r})")
    raise BadTask(f"cannot run {kind!r}: unknown kind")


def failure(task_id, error_type, message):
    return {
        "task_id": task_id,
        "status": "FAILED",
        "error": {
            "status": "FAILED",
            "error_type": error_type,
            "message": message,
            "task_id": task_id,
        },
    }


def execute_fn(task_id, kind, args):
    """Runs in a pool process; always returns a result report, never raises."""
    try:
        run = decode(kind, args)
    except BadTask as error:
        return failure(task_id, "SerializationError", str(error))
    try:
        return {"task_id": task_id, "status": "COMPLETED", "result": run()}
    except Exception as error:  # the task failed: report it, keep the worker
        message = str(error) if kind == "fail" else f"{type(error).__name__}: {error}"
        return failure(task_id, "FunctionExecutionFailure", message)


class Connection:
    """A REQ socket that is closed and reopened when an answer is late (Lazy Pirate)."""

    def __init__(self, context, url, timeout):
        self.context, self.url, self.timeout_ms = context, url, int(timeout * 1000)
        self.socket = None
        self.reopen()

    def reopen(self):
        if self.socket is not None:
            self.socket.close(linger=0)
        self.socket = self.context.socket(zmq.REQ)
        self.socket.connect(self.url)

    def exchange(self, frame):
        while True:
            self.socket.send_string(frame)
            if self.socket.poll(self.timeout_ms, zmq.POLLIN):
                return self.socket.recv_string()
            print("[Worker] no answer: reconnecting", flush=True)
            self.reopen()


def pull_worker(url, num_processes, timeout):
    context = zmq.Context()
    connection = Connection(context, url, timeout)
    running = {}
    print(f"[Worker] {num_processes} processes, asking {url} for work", flush=True)
    with multiprocessing.Pool(num_processes) as pool:
        while True:
            progress = False
            if len(running) < num_processes:
                answer = connection.exchange("REQUEST_TASK")
                if answer.startswith("{"):
                    task = json.loads(answer)
                    task_id = task["task_id"]
                    running[task_id] = pool.apply_async(
                        execute_fn, (task_id, task["kind"], task.get("args"))
                    )
                    progress = True
                elif answer.startswith("ERROR_OCCURED"):
                    print(f"[Worker] dispatcher answered {answer}", flush=True)
            for task_id, pending in list(running.items()):
                if pending.ready():
                    report = pending.get()
                    answer = connection.exchange("RESULT:" + json.dumps(report))
                    print(f"[Worker] reported {task_id}: {answer}", flush=True)
                    del running[task_id]
                    progress = True
            if not progress:
                time.sleep(IDLE_WAIT)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    timeout = float(argv[argv.index("--timeout") + 1]) if "--timeout" in argv else 2.5
    try:
        pull_worker(argv[2], int(argv[1]), timeout)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main(sys.argv)
