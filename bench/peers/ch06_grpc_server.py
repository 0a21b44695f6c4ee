#!/usr/bin/env python3
"""Chapter 06's Python peer: the server the chapter re-builds, as grpcio writes it.

    ch06_grpc_server.py --stubs DIR [--port 0] [--max-workers 10] [--max-concurrent-rpcs M]

Prints one JSON line, {"port": N}, once it serves; runs until killed.
"""
import argparse
import json
import sys
import threading
import time
from concurrent import futures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stubs", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--max-workers", type=int, default=10)
    parser.add_argument("--max-concurrent-rpcs", type=int, default=None)
    args = parser.parse_args()
    sys.path.insert(0, args.stubs)

    import grpc
    import workbook_pb2 as pb
    import workbook_pb2_grpc as rpc

    def truncating_divide(a, b):
        quotient = abs(a) // abs(b)
        return quotient if (a >= 0) == (b > 0) else -quotient

    operations = {
        pb.TASK_TYPE_ADD: lambda a, b: a + b,
        pb.TASK_TYPE_SUBTRACT: lambda a, b: a - b,
        pb.TASK_TYPE_MULTIPLY: lambda a, b: a * b,
        pb.TASK_TYPE_DIVIDE: truncating_divide,
    }
    worker_ids = {}

    # ANCHOR: servicer
    class Calculator(rpc.CalculatorServicer):
        def Compute(self, request, context):
            # This method runs on one of the executor's threads: it may block.
            operation = operations.get(request.type)
            if operation is None:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "unknown task type")
            time.sleep(request.processing_time)
            if request.type == pb.TASK_TYPE_DIVIDE and request.operand2 == 0:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Division by zero is not allowed")
            worker = worker_ids.setdefault(threading.get_ident(), len(worker_ids))
            return pb.TaskResult(
                task_id=request.id,
                status=pb.TASK_STATUS_DONE,
                value=operation(request.operand1, request.operand2),
                worker_id=worker,
            )
    # ANCHOR_END: servicer

    # ANCHOR: serve
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=args.max_workers),
        maximum_concurrent_rpcs=args.max_concurrent_rpcs,
    )
    rpc.add_CalculatorServicer_to_server(Calculator(), server)
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    # ANCHOR_END: serve
    print(json.dumps({"port": port}), flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
