#!/usr/bin/env python3
"""Chapter 03's interop peer: clients of pyzero-dtq written the original's way,
pointed at the Rust pipeline.

The producer is what producer-sink-zmq's Producer does: a PUSH socket and
`send_json(["DO", {"topic": …, "info": …}])`. Each subscriber is what
pubsub-zmq's SubPeer does: a SUB socket subscribed to `json.dumps(topic)` for each
of its topics (a string or a number), reading `recv_multipart()` and
`json.loads` on every frame. Nothing here knows the workbook's HELLO.

One change, for the slow joiner: where the original's test sleeps 0.5 s after
subscribing and hopes, each subscriber here pushes a probe task (id 0) on its
topics until a reply to one arrives, which proves the subscription is live. The
probe is an ordinary DO; its replies are not reported.

    ch03_pyzero_client.py COLLECTOR PUBLISHER SCENARIO

SCENARIO is JSON:
    {"subscribers": {"NAME": [topic, …], …},
     "tasks": [{"topic": topic, "info": {…}}, …],
     "expect": {"NAME": how many replies, …}}

Prints each message as it arrives, its frames as they were on the wire:
    ten <- b'"10"' b'{"id":1,"value":1,"worker":0}'
then, last, one JSON line: {"NAME": [[topic, body], …], …}, what each subscriber
received, decoded as the original decodes it. After each subscriber has its
expected count it listens 300 ms more, so anything extra shows.
"""
import json
import sys
import time

import zmq

PATIENCE_S = 10.0
PROBE_EVERY_S = 0.05
EXTRA_S = 0.3


def probe(topic):
    return ["DO", {"topic": topic, "info": {"id": 0, "kind": "add", "a": 0, "b": 0}}]


# ANCHOR: subscriber
def subscriber(context, publisher, topics):
    # pubsub-zmq's SubPeer: one subscription per topic, to its JSON encoding.
    sub = context.socket(zmq.SUB)
    for topic in topics:
        sub.setsockopt_string(zmq.SUBSCRIBE, json.dumps(topic))
    sub.connect(publisher)
    return sub


def receive(sub):
    # pubsub-zmq's SubPeer.receive: every frame is JSON.
    frames = sub.recv_multipart()
    return frames, [json.loads(frame.decode()) for frame in frames]
# ANCHOR_END: subscriber


def main():
    collector, publisher, scenario = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    context = zmq.Context()

    # producer-sink-zmq's Producer: a PUSH socket, and send_json for each task.
    producer = context.socket(zmq.PUSH)
    producer.setsockopt(zmq.LINGER, 1000)
    producer.connect(collector)

    subscribers = {}
    for name, topics in scenario["subscribers"].items():
        subscribers[name] = (subscriber(context, publisher, topics), topics)

    # Until each subscriber has heard a probe reply, its subscription may not be
    # live yet and results published now would be lost.
    deadline = time.monotonic() + PATIENCE_S
    for name, (sub, topics) in subscribers.items():
        live = False
        while not live:
            if time.monotonic() > deadline:
                sys.exit(f"subscriber {name} never heard its probe")
            for topic in topics:
                producer.send_json(probe(topic))
            if sub.poll(int(PROBE_EVERY_S * 1000)):
                live = True
    # Let the probes still in flight arrive, and drop them.
    time.sleep(EXTRA_S)
    for sub, _ in subscribers.values():
        while sub.poll(0):
            sub.recv_multipart()

    # ANCHOR: producer
    for task in scenario["tasks"]:
        producer.send_json(["DO", task])
    # ANCHOR_END: producer

    received = {name: [] for name in subscribers}
    poller = zmq.Poller()
    for sub, _ in subscribers.values():
        poller.register(sub, zmq.POLLIN)
    by_socket = {sub: name for name, (sub, _) in subscribers.items()}
    expect = scenario["expect"]
    deadline = time.monotonic() + PATIENCE_S
    extra_until = None
    while True:
        now = time.monotonic()
        if extra_until is None and all(
            len(received[name]) >= expect.get(name, 0) for name in received
        ):
            extra_until = now + EXTRA_S
        until = extra_until if extra_until is not None else deadline
        if now >= until:
            break
        for sub, _ in poller.poll(int((until - now) * 1000) + 1):
            frames, (topic, body) = receive(sub)
            if isinstance(body, dict) and body.get("id") == 0:
                continue  # a late probe reply
            name = by_socket[sub]
            print(name, "<-", *frames)
            received[name].append([topic, body])

    print(json.dumps(received))
    producer.close()
    for sub, _ in subscribers.values():
        sub.close(linger=0)
    context.term()


if __name__ == "__main__":
    main()
