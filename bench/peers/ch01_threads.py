#!/usr/bin/env python3
"""Chapter 01's Python peer: the same two experiments with the threading module.

    ch01_threads.py sleeps  TASKS MS        sequential vs one thread per sleep
    ch01_threads.py counter THREADS INCREMENTS   a Lock-protected shared counter

Prints one JSON line with the wall times in seconds.
"""
import json
import sys
import threading
import time


def sleeps(tasks, millis):
    pause = millis / 1000
    start = time.perf_counter()
    for _ in range(tasks):
        time.sleep(pause)
    sequential = time.perf_counter() - start

    start = time.perf_counter()
    threads = [threading.Thread(target=time.sleep, args=(pause,)) for _ in range(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"sequential": sequential, "threads": time.perf_counter() - start}


def counter(threads, increments):
    lock = threading.Lock()
    total = [0]

    def work():
        for _ in range(increments):
            with lock:
                total[0] += 1

    start = time.perf_counter()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert total[0] == threads * increments
    return {"seconds": time.perf_counter() - start}


def main(argv):
    modes = {"sleeps": sleeps, "counter": counter}
    if len(argv) != 4 or argv[1] not in modes:
        sys.exit(__doc__)
    print(json.dumps(modes[argv[1]](int(argv[2]), int(argv[3]))))


if __name__ == "__main__":
    main(sys.argv)
