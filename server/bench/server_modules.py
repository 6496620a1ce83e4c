"""The server's hot modules one at a time, compiled against pure (issue 17).

``python -m server.bench.server_modules [CASE ...] [--commands N] [--rounds R]``
times each case's hot function over the same seeded flow (``stx bench
engine``'s, with a client order id and an origin on every command, as a
gateway sends them) with the module under test as installed (compiled by
``make``) and a second copy of it loaded from its ``.py`` file into the same
process, alternating pass by pass (which goes first alternates too), so that
both builds see the same machine: on a shared 2-core machine separate runs do
not compare. Everything else (the engine, the other server modules) is the
installed build for both, so a ratio is that one module's. Each build's figure
is its best pass and its median, in microseconds per command. A module that
is not compiled (not in ``server/compiled.py``) is then measured against a copy
of itself: a control of the method, whose ratio shows the noise.

Cases and what they time per command:

- ``codec.encode`` / ``codec.decode``: a journal payload written, read back
  (``server/journal/codec.py``: the core decodes, every replica decodes);
- ``frames``: the link's BATCH frames of 100 payloads built, cut out of the
  byte stream and split (``server/link/frames.py``: core and every replica);
- ``format``: journal records framed onto the writer's buffer and read back
  (``server/journal/format.py``);
- ``registry``: execution reports built from each applied command, in batches
  of 100 (``server/model/registry.py``: the gateway, the projector);
- ``market``: market-data updates from each command's events
  (``feeds/market.py``: the feed, the core's snapshot copy);
- ``convert``: the reports' protobuf messages (``server/gateways/grpc/convert.py``:
  the gateway's report building).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from matching import Engine
from server.bench.workload import generate, instruments
from server.journal.codec import Origin, encode
from server.model.sequenced import Sequenced

MODULES: dict[str, str] = {
    "codec.encode": "server.journal.codec",
    "codec.decode": "server.journal.codec",
    "frames": "server.link.frames",
    "format": "server.journal.format",
    "registry": "server.model.registry",
    "market": "feeds.market",
    "convert": "server.gateways.grpc.convert",
}
"""Case -> the module it measures."""

BATCH = 100
ORIGIN = Origin("trader-1", "ipv4:127.0.0.1:50000", "grpc")


class Flow:
    """The seeded flow's commands, as applied (events and journal payloads)."""

    def __init__(self, count: int) -> None:
        self.commands = generate(count, 1)
        engine = Engine(instruments())
        self.applied = [
            Sequenced(number, command, engine.process(command), f"c{number}", payload)
            for number, command in enumerate(self.commands, 1)
            for payload in (encode(command, f"c{number}", ORIGIN),)
        ]
        self.payloads = [item.payload for item in self.applied]

    def batches(self) -> list[list[Sequenced]]:
        items = self.applied
        return [items[start : start + BATCH] for start in range(0, len(items), BATCH)]


def pure_copy(name: str) -> ModuleType:
    """A second copy of module ``name`` loaded from its ``.py`` file, under
    another name (``name`` stays the installed build)."""
    installed = importlib.import_module(name)
    assert installed.__file__ is not None
    source = installed.__file__.split(".", 1)[0] + ".py"
    alias = f"{name}__pure_copy"
    spec = importlib.util.spec_from_file_location(alias, source)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[alias] = module  # dataclasses and NamedTuples look their module up
    spec.loader.exec_module(module)
    return module


Case = Callable[[ModuleType, Flow], Callable[[], None]]


def _codec_encode(codec: ModuleType, flow: Flow) -> Callable[[], None]:
    work = [(command, f"c{number}") for number, command in enumerate(flow.commands, 1)]
    encode_with = codec.encode
    origin = codec.Origin(*ORIGIN)

    def run() -> None:
        for command, client_order_id in work:
            encode_with(command, client_order_id, origin)

    return run


def _codec_decode(codec: ModuleType, flow: Flow) -> Callable[[], None]:
    payloads = flow.payloads
    decode = codec.decode_with_origin

    def run() -> None:
        for payload in payloads:
            decode(payload)

    return run


def _frames(frames: ModuleType, flow: Flow) -> Callable[[], None]:
    batches = [[item.payload for item in batch] for batch in flow.batches()]
    kind, build, read = frames.Kind.BATCH, frames.run, frames.read_run

    def run() -> None:
        reader = frames.Reader()
        first = 1
        for batch in batches:
            for _, body in reader.feed(build(kind, first, batch)):
                read(body)
            first += len(batch)

    return run


def _format(journal_format: ModuleType, flow: Flow) -> Callable[[], None]:
    payloads = flow.payloads
    append = journal_format.append_record

    def run() -> None:
        buffer = bytearray()
        for sequence, payload in enumerate(payloads, 1):
            append(buffer, sequence, payload)
        for _ in journal_format.SegmentReader(bytes(buffer), 1):
            pass

    return run


def _registry(registry: ModuleType, flow: Flow) -> Callable[[], None]:
    batches = flow.batches()

    def run() -> None:
        apply = registry.OrderRegistry().apply
        for batch in batches:
            apply(batch)

    return run


def _market(market: ModuleType, flow: Flow) -> Callable[[], None]:
    applied = flow.applied
    start = Engine(instruments())

    def run() -> None:
        apply = market.MarketState.from_engine(start).apply
        for item in applied:
            apply(item.sequence, item.command, item.events)

    return run


def _convert(convert: ModuleType, flow: Flow) -> Callable[[], None]:
    from stocktraderx.v1 import orders_pb2 as pb  # noqa: PLC0415

    from server.model.registry import OrderRegistry  # noqa: PLC0415

    registry = OrderRegistry()
    reports = [registry.apply(batch) for batch in flow.batches()]
    add_reports = convert.add_reports

    def run() -> None:
        for batch in reports:
            add_reports(pb.OrderStreamResponse().reports, batch)

    return run


CASES: dict[str, Case] = {
    "codec.encode": _codec_encode,
    "codec.decode": _codec_decode,
    "frames": _frames,
    "format": _format,
    "registry": _registry,
    "market": _market,
    "convert": _convert,
}


def _timed(run: Callable[[], None], count: int) -> float:
    gc.collect()
    started = time.perf_counter_ns()
    run()
    return (time.perf_counter_ns() - started) / 1000 / count


def measure(case: str, flow: Flow, rounds: int) -> dict[str, Any]:
    """Both builds of the case's module, pass by pass: best and median
    microseconds per command of each, and which file the installed one is."""
    name = MODULES[case]
    installed = importlib.import_module(name)
    build = "pure" if (installed.__file__ or "").endswith(".py") else "compiled"
    runs = {build: CASES[case](installed, flow), "pure copy": CASES[case](pure_copy(name), flow)}
    count = len(flow.commands)
    passes: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(2):  # warm-up, not counted
        for run in runs.values():
            run()
    for round_number in range(rounds):
        labels = list(runs) if round_number % 2 == 0 else list(reversed(runs))
        for label in labels:
            passes[label].append(_timed(runs[label], count))
    return {
        "case": case,
        "module": name,
        "installed": build,
        **{
            label: {"best": min(times), "median": statistics.median(times)}
            for label, times in passes.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("cases", nargs="*", choices=[*CASES, []], default=[])
    parser.add_argument("--commands", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=10)
    options = parser.parse_args()
    flow = Flow(options.commands)
    print(
        f"{'case':<13} {'module':<30} {'installed':>9} {'best':>7} {'median':>7}"
        f" {'pure best':>9} {'median':>7} {'ratio':>6}  (µs/command; ratio of medians)"
    )
    for case in options.cases or list(CASES):
        result = measure(case, flow, options.rounds)
        mine, pure = result[result["installed"]], result["pure copy"]
        print(
            f"{case:<13} {result['module']:<30} {result['installed']:>9}"
            f" {mine['best']:7.3f} {mine['median']:7.3f} {pure['best']:9.3f}"
            f" {pure['median']:7.3f} {pure['median'] / mine['median']:5.2f}x",
            flush=True,
        )


if __name__ == "__main__":
    main()
