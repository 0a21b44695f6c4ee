#!/usr/bin/env python3
"""Chapter 03's Python peer: the pyzero-dtq design on pyzmq, speaking the workbook's
wire format so the Rust producer can drive it exactly as it drives the Rust pipeline.

A collector thread PULLs tasks into a queue.Queue, worker threads run them and put
results on a second queue.Queue, a publisher thread PUBs each result on its topic
frame (topic + NUL: exact matching) — the original's three roles, as threads of one
process so the comparison with the Rust pipeline is like for like.

    ch03_pyzmq_pipeline.py WORKERS

Binds free loopback ports and prints one JSON line with them:
{"collector": "tcp://127.0.0.1:…", "publisher": "tcp://127.0.0.1:…"}
then serves until ["DIE"], finishes what is queued, and exits.
"""
import json
import queue
import sys
import threading

import zmq


def run_task(info):
    kind = info["kind"]
    a, b = info.get("a"), info.get("b")
    if kind == "add":
        return a + b
    if kind == "subtract":
        return a - b
    if kind == "multiply":
        return a * b
    if kind == "divide":
        if b == 0:
            raise ValueError("division by zero")
        return a // b
    raise ValueError(f"unknown kind {kind!r}")


def main():
    workers = int(sys.argv[1])
    context = zmq.Context()
    pull = context.socket(zmq.PULL)
    pull.bind("tcp://127.0.0.1:*")
    pub = context.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.bind("tcp://127.0.0.1:*")
    print(json.dumps({
        "collector": pull.getsockopt_string(zmq.LAST_ENDPOINT),
        "publisher": pub.getsockopt_string(zmq.LAST_ENDPOINT),
    }), flush=True)

    tasks, results = queue.Queue(), queue.Queue()

    def worker(worker_id):
        while True:
            task = tasks.get()
            if task is None:
                break
            topic, info = task
            try:
                body = {"id": info["id"], "value": run_task(info), "worker": worker_id}
            except Exception as error:  # an error result, never a dead worker
                body = {"id": info.get("id"), "error": str(error), "worker": worker_id}
            results.put((topic, body))

    def publisher():
        while True:
            item = results.get()
            if item is None:
                break
            topic, body = item
            pub.send_multipart([json.dumps(topic).encode(), json.dumps(body).encode()])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    publishing = threading.Thread(target=publisher)
    publishing.start()

    while True:
        try:
            message = json.loads(pull.recv())
            command = message[0]
        except (ValueError, IndexError, TypeError, KeyError):
            continue
        if command == "DO":
            tasks.put((message[1]["topic"], message[1]["info"]))
        elif command == "HELLO":
            topic = message[1]["topic"]
            results.put((topic, {"welcome": topic}))
        elif command == "DIE":
            break

    for _ in threads:
        tasks.put(None)
    for thread in threads:
        thread.join()
    results.put(None)
    publishing.join()
    pub.close(linger=2000)
    pull.close(linger=0)
    context.term()


if __name__ == "__main__":
    main()
