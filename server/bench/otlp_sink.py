"""An OTLP/gRPC trace receiver that counts the spans it is sent and drops
them: the collector of a benchmark that measures tracing's cost to the
exchange, not a collector's.

``python -m server.bench.otlp_sink PORT`` serves on 127.0.0.1:PORT until
interrupted, printing the spans received so far every 10 seconds.
"""

from __future__ import annotations

import sys
import threading
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


class CountingSink(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans = 0
        self._lock = threading.Lock()

    def Export(  # noqa: N802 - the OTLP service's name
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        received = sum(
            len(scope.spans)
            for resource in request.resource_spans
            for scope in resource.scope_spans
        )
        with self._lock:
            self.spans += received
        return trace_service_pb2.ExportTraceServiceResponse()


def serve(port: int) -> tuple[grpc.Server, CountingSink]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    sink = CountingSink()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(sink, server)  # type: ignore[no-untyped-call]
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server, sink


if __name__ == "__main__":
    running, counting = serve(int(sys.argv[1]))
    try:
        while running.wait_for_termination(10):  # True: the wait timed out
            print(f"{counting.spans} spans", flush=True)
    except KeyboardInterrupt:
        running.stop(None)
