#!/usr/bin/env python3
"""Chapter 06's Python client: grpcio stubs generated from proto/workbook.proto,
calling a server written in another language — the Rust one, in the tests.

    ch06_grpc_client.py --stubs DIR ADDRESS

DIR holds workbook_pb2.py and workbook_pb2_grpc.py from `python -m grpc_tools.protoc`.
Prints one JSON line: what each call answered.
"""
import argparse
import json
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stubs", required=True)
    parser.add_argument("address")
    args = parser.parse_args()
    sys.path.insert(0, args.stubs)

    import grpc
    import workbook_pb2 as pb
    import workbook_pb2_grpc as rpc

    answers = {}
    with grpc.insecure_channel(args.address) as channel:
        stub = rpc.CalculatorStub(channel)

        result = stub.Compute(
            pb.Task(id="py-1", type=pb.TASK_TYPE_MULTIPLY, operand1=12, operand2=12),
            timeout=10,
        )
        answers["multiply"] = {
            "task_id": result.task_id,
            "value": result.value,
            "status": pb.TaskStatus.Name(result.status),
        }

        def failure(task, timeout):
            try:
                stub.Compute(task, timeout=timeout)
                return {"code": "OK"}
            except grpc.RpcError as error:
                return {"code": error.code().name, "details": error.details()}

        answers["divide_by_zero"] = failure(
            pb.Task(id="py-2", type=pb.TASK_TYPE_DIVIDE, operand1=6, operand2=0), 10
        )
        answers["deadline"] = failure(
            pb.Task(id="py-3", type=pb.TASK_TYPE_ADD, operand1=1, operand2=1, processing_time=2),
            0.3,
        )

        # The Dispatcher service: a worker's whole round trip, in Python.
        dispatcher = rpc.DispatcherStub(channel)
        task_id = dispatcher.SubmitTask(
            pb.SubmitTaskRequest(kind="add", args_json='{"a": 20, "b": 22}'), timeout=10
        ).task_id
        dispatcher.Heartbeat(
            pb.HeartbeatRequest(
                worker=pb.WorkerProperties(id="py-worker", capabilities=[pb.TASK_TYPE_ADD])
            ),
            timeout=10,
        )
        lease = dispatcher.ClaimTask(pb.ClaimTaskRequest(worker_id="py-worker"), timeout=10).lease
        dispatcher.SubmitResult(
            pb.SubmitResultRequest(
                task_id=lease.task_id, lease_token=lease.lease_token, result_json="42"
            ),
            timeout=10,
        )
        state = dispatcher.GetTask(pb.GetTaskRequest(task_id=task_id), timeout=10)
        answers["dispatcher"] = {
            "leased": lease.task_id == task_id,
            "status": pb.TaskStatus.Name(state.status),
            "result_json": state.result_json,
        }
        try:
            dispatcher.GetTask(pb.GetTaskRequest(task_id=424242), timeout=10)
            answers["unknown_task"] = {"code": "OK"}
        except grpc.RpcError as error:
            answers["unknown_task"] = {"code": error.code().name}
    print(json.dumps(answers))


if __name__ == "__main__":
    main()
