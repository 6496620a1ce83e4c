"""What tracing costs the core: its CPU time per command with and without.

As ``metrics_cost.py``: one core (durability ``none``) takes journaled
commands through ``CoreLinkServer.submit`` in frames of ``frame``, each
followed by ``commit_now``; rounds alternate with and without what
``stx serve core`` attaches when it traces (``CoreSpans``: the link's trace
observer and a sequencer listener). A ``share`` of the commands carry a
``traceparent`` in their origin, as a gateway journals for the traces it
samples: 0 is tracing on with nothing sampled (the ratio 0, or callers who
send no sampled trace), 0.01 the ratio 1%, 1 every command. Spans go
through the SDK's batch processor to an exporter that encodes them as the
OTLP exporter does (``encode_spans``) and drops the bytes. Time is CPU
time (``thread_time``: the machine's other processes do not count) of the
event loop's thread in each round, plus, on the traced side, the exporting
thread's CPU time in ``export`` (the batch processor's queue handling on that
thread and the sending over gRPC are not counted). The cost is the traced
side's total over the other's, minus one.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from matching import Engine
from server.bench.metrics_cost import _Gateway
from server.bench.workload import OrderFlow, instruments
from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.journal.codec import Origin, encode
from server.link.listener import CoreLinkServer
from server.runtime import settle_heap
from server.tracing.core_spans import CoreSpans
from server.tracing.provider import Tracing
from server.tracing.settings import TracingSettings


class EncodingExporter(SpanExporter):
    """The OTLP exporter's work but the send: spans encoded, bytes dropped."""

    def __init__(self) -> None:
        self.spans = 0
        self.seconds = 0.0
        """CPU time of the exporting thread in ``export``."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        began = time.thread_time()
        encode_spans(spans).SerializeToString()
        self.spans += len(spans)
        self.seconds += time.thread_time() - began
        return SpanExportResult.SUCCESS


def commands(count: int, seed: int, share: float) -> list[bytes]:
    """The benchmark's order flow, journaled with an origin; every
    ``1/share``-th command with a sampled ``traceparent``."""
    engine = Engine(instruments())
    flow = OrderFlow(engine, seed)
    every = round(1 / share) if share else 0
    payloads = []
    for number in range(count):
        command = flow.next_command()
        flow.observe(engine.process(command))
        traceparent = (
            f"00-{number + 1:032x}-{number + 1:016x}-01" if every and number % every == 0 else ""
        )
        origin = Origin("trader-7", "127.0.0.1:51234", "grpc", traceparent)
        payloads.append(encode(command, f"c{number}", origin))
    return payloads


async def _measure(count: int, frame: int, rounds: int, share: float) -> dict[str, float]:
    payloads = commands(count, 1, max(share, 0.0))
    chunks = [payloads[i : i + frame] for i in range(0, len(payloads), frame)]
    per_round = max(1, len(chunks) // (2 * rounds))
    seconds: dict[bool, list[float]] = {False: [], True: []}
    exporter = EncodingExporter()
    tracing = Tracing(TracingSettings("http://unused:4317"), "core", exporter)
    with tempfile.TemporaryDirectory(prefix="stx-bench-tracing-") as scratch:
        core = ExchangeCore.open(
            Path(scratch), instruments(), durability=Durability.NONE, snapshot_every=10**12
        )
        await core.start()
        link = CoreLinkServer(core, Path(scratch) / "core.sock")
        spans = CoreSpans(tracing.tracer("stx.core"))
        sequencer, gateway = core.sequencer, _Gateway()
        settle_heap()
        try:
            starts = range(0, len(chunks) - 2 * per_round + 1, 2 * per_round)
            for number, start in enumerate(starts):
                for half, on in enumerate((number % 2 == 0, number % 2 == 1)):
                    if on and share >= 0:
                        link.trace_observer = spans.sequenced
                        sequencer.add_listener(spans)
                    began = time.thread_time()
                    first = start + half * per_round
                    for chunk in chunks[first : first + per_round]:
                        link.submit(gateway, 1, chunk)  # type: ignore[arg-type]
                        sequencer.commit_now()
                    seconds[on].append(time.thread_time() - began)
                    await sequencer.durable()
                    if on and share >= 0:
                        link.trace_observer = None
                        sequencer.remove_listener(spans)
                    gateway.awaiting.clear()
            tracing.provider.force_flush()
        finally:
            await core.close(final_snapshot=False)
            tracing.shutdown()
    per_second = per_round * frame
    # The exporting thread's CPU is the traced side's too.
    traced = sum(seconds[True]) + exporter.seconds
    return {
        "off": per_second * len(seconds[False]) / sum(seconds[False]),
        "on": per_second * len(seconds[True]) / traced,
        "cost_percent": (traced / sum(seconds[False]) - 1) * 100,
        "export_percent": exporter.seconds / sum(seconds[False]) * 100,
        "rounds": len(seconds[True]),
        "spans": exporter.spans,
    }


def measure(count: int, frame: int, rounds: int, share: float) -> dict[str, float]:
    """Commands per second with and without tracing over all the rounds,
    the cost in % of CPU time and the spans exported."""
    return asyncio.run(_measure(count, frame, rounds, share))


if __name__ == "__main__":
    # python -m server.bench.tracing_cost [share] [commands] [frame] [rounds]
    import sys

    share = float(sys.argv[1]) if len(sys.argv) > 1 else 0.01
    arguments = [int(value) for value in sys.argv[2:5]]
    count, frame, rounds = arguments + [200_000, 10, 200][len(arguments) :]
    result = measure(count, frame, rounds, share)
    print(
        f"share {share}: commands/s without tracing {result['off']:.0f}, with {result['on']:.0f}; "
        f"cost {result['cost_percent']:.2f}% (of which export {result['export_percent']:.2f}%; "
        f"{result['rounds']:.0f} rounds each, "
        f"{result['spans']:.0f} spans)"
    )
