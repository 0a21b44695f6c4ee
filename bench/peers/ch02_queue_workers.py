#!/usr/bin/env python3
"""Chapter 02's Python peer: the original dispatcher/worker design.

A queue.Queue shared by worker threads, each looping on task_queue.get() until it
takes the None sentinel — exactly the shape of the Python demo this workbook
starts from. The Rust bench runs this script in the same invocation and compares.

    ch02_queue_workers.py noop   JOBS  WORKERS REPEAT
    ch02_queue_workers.py sleep  TASKS MS WORKERS REPEAT
    ch02_queue_workers.py primes TASKS LIMIT WORKERS REPEAT

Prints one JSON line: {"seconds": <best wall time over REPEAT runs>}.
"""
import json
import queue
import sys
import threading
import time


def count_primes(limit):
    """Trial division, the same algorithm as solution02::work::count_primes."""
    count = 0
    for n in range(2, limit):
        d = 2
        while d * d <= n:
            if n % d == 0:
                break
            d += 1
        else:
            count += 1
    return count


def run_pool(workers, jobs):
    """Starts the workers, queues every job, sends one sentinel per worker, joins."""
    task_queue = queue.Queue()

    def worker():
        while True:
            job = task_queue.get()
            if job is None:
                break
            job()

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for job in jobs:
        task_queue.put(job)
    for _ in threads:
        task_queue.put(None)
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def noop(jobs, workers):
    return run_pool(workers, (lambda: None for _ in range(jobs)))


def sleep(tasks, millis, workers):
    pause = millis / 1000
    return run_pool(workers, (lambda: time.sleep(pause) for _ in range(tasks)))


def primes(tasks, limit, workers):
    return run_pool(workers, (lambda: count_primes(limit) for _ in range(tasks)))


def main(argv):
    modes = {"noop": noop, "sleep": sleep, "primes": primes}
    if len(argv) < 2 or argv[1] not in modes:
        sys.exit(__doc__)
    *numbers, repeat = (int(arg) for arg in argv[2:])
    best = min(modes[argv[1]](*numbers) for _ in range(repeat))
    print(json.dumps({"seconds": best}))


if __name__ == "__main__":
    main(sys.argv)
