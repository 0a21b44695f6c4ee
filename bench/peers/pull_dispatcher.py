#!/usr/bin/env python3
"""Chapter 04's Python peer: a pull dispatcher of the original design.

Three threads share one REP socket and three structures, so — as in the original
pull_dispatcher.py — four locks keep them apart: socket_lock (the socket),
task_lock (the queue), store_lock (the task store that was Redis) and
running_lock (the running tasks). A timeout checker thread fails tasks that run
past the deadline. Workers are bench/peers/pull_worker.py processes, each with a
multiprocessing pool, as in the original.

    pull_dispatcher.py bench TASKS WORKERS PROCESSES REPEAT

runs TASKS trivial tasks (10 add 5) through WORKERS worker processes and prints one
JSON line: {"seconds": <best wall time over REPEAT runs, first task handed out →
last result accepted>}, so process and pool start-up are not counted.
"""
import json
import os
import subprocess
import sys
import threading
import time
import uuid

import zmq

DEADLINE_SECONDS = 2.0
CHECK_EVERY = 0.5


class PullDispatcher:
    def __init__(self, context):
        self.socket = context.socket(zmq.REP)
        self.port = self.socket.bind_to_random_port("tcp://127.0.0.1")
        self.socket_lock = threading.Lock()
        self.task_lock = threading.Lock()
        self.store_lock = threading.Lock()
        self.running_lock = threading.Lock()
        self.tasks = []  # queued task ids
        self.store = {}  # task id -> record (the original kept these in Redis)
        self.running = {}  # task id -> start time
        self.finished = 0
        self.all_done = threading.Event()
        self.first_assigned = None  # perf_counter() when the first task went out
        self.expected = 0
        self.stopping = threading.Event()

    def submit(self, kind, args):
        task_id = str(uuid.uuid4())
        with self.store_lock:
            self.store[task_id] = {"kind": kind, "args": args, "status": "QUEUED"}
        with self.task_lock:
            self.tasks.append(task_id)
        return task_id

    def next_task(self):
        with self.task_lock:
            if not self.tasks:
                return None
            task_id = self.tasks.pop(0)
        with self.store_lock:
            record = self.store[task_id]
            record["status"] = "RUNNING"
        with self.running_lock:
            self.running[task_id] = time.time()
            if self.first_assigned is None:
                self.first_assigned = time.perf_counter()
        return json.dumps(
            {"task_id": task_id, "kind": record["kind"], "args": record["args"], "status": "RUNNING"}
        )

    def accept_result(self, body):
        try:
            report = json.loads(body)
            task_id = report["task_id"]
        except (ValueError, KeyError, TypeError) as error:
            return f"ERROR malformed result: {error}"
        with self.running_lock:
            if task_id not in self.running:
                return f"ERROR task {task_id} is not RUNNING"
            del self.running[task_id]
        with self.store_lock:
            record = self.store[task_id]
            record["status"] = report.get("status")
            record["result"] = report.get("result")
            record["error"] = report.get("error")
            self.finished += 1
            if self.finished >= self.expected:
                self.all_done.set()
        return "RESULT_RECEIVED"

    def worker_communication_handler(self):
        while not self.stopping.is_set():
            with self.socket_lock:
                if not self.socket.poll(50, zmq.POLLIN):
                    continue
                frame = self.socket.recv_string()
                if frame.startswith("REQUEST_TASK"):
                    answer = self.next_task() or "NO_TASKS_AVAILABLE"
                elif frame.startswith("RESULT:"):
                    answer = self.accept_result(frame[len("RESULT:"):])
                else:
                    answer = "ERROR unknown request"
                self.socket.send_string(answer)

    def task_timeout_checker(self):
        while not self.stopping.wait(CHECK_EVERY):
            now = time.time()
            with self.running_lock:
                overdue = [(t, now - s) for t, s in self.running.items() if now - s > DEADLINE_SECONDS]
                for task_id, _ in overdue:
                    del self.running[task_id]
            with self.store_lock:
                for task_id, took in overdue:
                    self.store[task_id]["status"] = "FAILED"
                    self.store[task_id]["error"] = {
                        "status": "FAILED",
                        "error_type": "WorkerFailureError",
                        "message": f"Task exceeded deadline of {DEADLINE_SECONDS:g}s (took {took:.2f}s)",
                        "task_id": task_id,
                    }


def bench_once(tasks, workers, processes):
    context = zmq.Context()
    dispatcher = PullDispatcher(context)
    dispatcher.expected = tasks
    for _ in range(tasks):
        dispatcher.submit("add", {"a": 10, "b": 5})
    threads = [
        threading.Thread(target=dispatcher.worker_communication_handler, daemon=True),
        threading.Thread(target=dispatcher.task_timeout_checker, daemon=True),
    ]
    for thread in threads:
        thread.start()
    worker_script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pull_worker.py")
    url = f"tcp://127.0.0.1:{dispatcher.port}"
    children = [
        subprocess.Popen(
            [sys.executable, worker_script, str(processes), url],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        if not dispatcher.all_done.wait(600):
            raise SystemExit("the Python workers did not finish in 600 s")
        seconds = time.perf_counter() - dispatcher.first_assigned
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait()
        dispatcher.stopping.set()
        for thread in threads:
            thread.join()
        dispatcher.socket.close(linger=0)
        context.term()
    return seconds


def main(argv):
    if len(argv) != 6 or argv[1] != "bench":
        sys.exit(__doc__)
    tasks, workers, processes, repeat = (int(arg) for arg in argv[2:])
    best = min(bench_once(tasks, workers, processes) for _ in range(repeat))
    print(json.dumps({"seconds": best}))


if __name__ == "__main__":
    main(sys.argv)
