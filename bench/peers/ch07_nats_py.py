#!/usr/bin/env python3
"""Chapter 07's Python peer: the NATS/protobuf original's design, with nats-py.

    ch07_nats_py.py --stubs DIR --server nats://127.0.0.1:PORT [--tasks 2000] [--workers 2]

A controller and WORKERS workers, each on its own connection, in one asyncio
process. Each worker announces its capabilities on `workers.heartbeat` (a
WorkerProperties message) and answers tasks sent to `worker.<name>.tasks`; the
controller keeps its tasks in a dict, picks a capable worker for each (round
robin) and sends the protobuf Task as a core NATS request, awaiting the
TaskResult as the reply — no stream, no storage, no redelivery: what the
original does. At most WINDOW tasks are in flight at once.

DIR holds workbook_pb2.py from `python -m grpc_tools.protoc`. Prints one JSON
line: {"tasks": N, "seconds": S, "done": D}.
"""
import argparse
import asyncio
import itertools
import json
import sys
import time

WINDOW = 64
KINDS = ["ADD", "SUBTRACT", "MULTIPLY", "DIVIDE"]


async def worker(pb, server, name, ready):
    import nats

    nc = await nats.connect(server)

    async def on_task(msg):
        task = pb.Task()
        task.ParseFromString(msg.data)
        a, b = task.operand1, task.operand2
        if task.type == pb.TASK_TYPE_ADD:
            value, status = a + b, pb.TASK_STATUS_DONE
        elif task.type == pb.TASK_TYPE_SUBTRACT:
            value, status = a - b, pb.TASK_STATUS_DONE
        elif task.type == pb.TASK_TYPE_MULTIPLY:
            value, status = a * b, pb.TASK_STATUS_DONE
        elif b != 0:
            value, status = int(a / b), pb.TASK_STATUS_DONE
        else:
            value, status = 0, pb.TASK_STATUS_FAILED
        result = pb.TaskResult(task_id=task.id, status=status, value=value)
        await msg.respond(result.SerializeToString())

    await nc.subscribe(f"worker.{name}.tasks", cb=on_task)
    properties = pb.WorkerProperties(
        id=name, capabilities=[getattr(pb, f"TASK_TYPE_{kind}") for kind in KINDS]
    )
    await nc.publish("workers.heartbeat", properties.SerializeToString())
    await nc.flush()
    ready.set()
    return nc


async def controller(pb, server, names, tasks):
    import nats

    nc = await nats.connect(server)
    statuses = {}
    window = asyncio.Semaphore(WINDOW)
    pick = itertools.cycle(names)

    async def submit(n):
        async with window:
            task = pb.Task(
                id=str(n),
                type=pb.TASK_TYPE_ADD,
                operand1=n,
                operand2=1,
                timeout=10,
            )
            statuses[task.id] = "RUNNING"
            reply = await nc.request(
                f"worker.{next(pick)}.tasks", task.SerializeToString(), timeout=10
            )
            result = pb.TaskResult()
            result.ParseFromString(reply.data)
            statuses[task.id] = pb.TaskStatus.Name(result.status)

    start = time.perf_counter()
    await asyncio.gather(*(submit(n) for n in range(tasks)))
    seconds = time.perf_counter() - start
    await nc.close()
    done = sum(1 for status in statuses.values() if status == "TASK_STATUS_DONE")
    return seconds, done


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stubs", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, args.stubs)
    import workbook_pb2 as pb

    names = [f"Worker{n + 1}" for n in range(args.workers)]
    connections = []
    for name in names:
        ready = asyncio.Event()
        connections.append(await worker(pb, args.server, name, ready))
        await ready.wait()
    seconds, done = await controller(pb, args.server, names, args.tasks)
    for nc in connections:
        await nc.close()
    print(json.dumps({"tasks": args.tasks, "seconds": seconds, "done": done}))


if __name__ == "__main__":
    asyncio.run(main())
