"""What the link costs the core per command, measured (not a test).

``python -m tests.server.link.measure_cost [COMMANDS]`` runs the seeded
order flow twice on fresh cores in this process, in turns, best of
``ROUNDS``: once submitted straight to the sequencer (what an in-process
gateway costs the core, minus gRPC), once arriving as COMMANDS frames on a
gateway connection with three consumers connected, every frame handed to
the connection as its socket read would (decode, duplicate check,
re-stamp, sequencing, commit, the BATCH frame to each consumer and the
RESULT to the gateway). A child process drains every socket, as live
consumers would. The CPU time of the core's thread in each, per command,
for frames of 1 and of 100 commands; the difference is the link's.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import selectors
import socket
import sys
import tempfile
import time
from pathlib import Path

from matching import Command, FundAccount, RiskLimits, SetRiskLimits
from server.bench.workload import ACCOUNTS, generate, instruments
from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.journal.codec import Origin, encode
from server.link.frames import Kind, control, run
from server.link.listener import CoreLinkServer

ROUNDS = 3
CONSUMERS = 3
ORIGIN = Origin("trader-7", "127.0.0.1:51234", "grpc")


def _drain(path: str, ready: multiprocessing.synchronize.Event) -> None:
    """Connect three consumers and a gateway, and read everything sent to them."""
    selector = selectors.DefaultSelector()
    for index, role in enumerate(["consumer"] * CONSUMERS + ["gateway"]):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
        sock.sendall(control(Kind.HELLO, [role, f"{role}-{index}", 0]))
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    ready.set()
    while True:
        for key, _ in selector.select():
            if not key.fileobj.recv(1 << 20):  # type: ignore[union-attr]
                return


async def _core(directory: Path) -> ExchangeCore:
    core = ExchangeCore.open(directory, instruments(), durability=Durability.NONE)
    await core.start()
    sequencer = core.sequencer
    for account in ACCOUNTS:
        sequencer.submit(
            SetRiskLimits(sequencer.now(), account, RiskLimits(allow_short_selling=True))
        )
        sequencer.submit(FundAccount(sequencer.now(), account, 10**15))
    await sequencer.durable()
    return core


async def _direct(directory: Path, commands: list[list[tuple[Command, str]]]) -> float:
    core = await _core(directory)
    sequencer = core.sequencer
    gc.collect()
    gc.disable()
    start = time.thread_time_ns()
    for frame in commands:
        for command, client_order_id in frame:
            sequencer.submit(command._replace(timestamp=sequencer.now()), client_order_id, ORIGIN)
        sequencer.commit_now()
    took = time.thread_time_ns() - start
    gc.enable()
    await core.close(final_snapshot=False)
    return took


async def _linked(directory: Path, frames: list[bytes]) -> float:
    core = await _core(directory)
    link = CoreLinkServer(core, lag_limit=1 << 40)
    await link.start()
    ready = multiprocessing.get_context("spawn").Event()
    drain = multiprocessing.get_context("spawn").Process(
        target=_drain, args=(str(link.path), ready)
    )
    drain.start()
    ready.wait(30)
    while len(link.connections) < CONSUMERS + 1:
        await asyncio.sleep(0.01)
    (gateway,) = [c for c in link.connections if c.role == "gateway"]
    took = 0
    gc.collect()
    gc.disable()
    for start_index in range(0, len(frames), 50):
        start = time.thread_time_ns()
        for frame in frames[start_index : start_index + 50]:
            gateway.data_received(frame)
        took += time.thread_time_ns() - start
        await asyncio.sleep(0)  # the consumers read meanwhile, as they would
    gc.enable()
    assert link.dropped == 0
    await link.close()
    drain.terminate()
    drain.join(10)
    await core.close(final_snapshot=False)
    return took


async def main(count: int) -> None:
    flow = generate(count, 1)
    items = [(command, f"c{index}") for index, command in enumerate(flow)]
    for size in (1, 100):
        grouped = [items[start : start + size] for start in range(0, count, size)]
        payloads = [[encode(c, i, ORIGIN) for c, i in group] for group in grouped]
        frames = [run(Kind.COMMANDS, 1 + n * size, group) for n, group in enumerate(payloads)]
        best = {"direct": float("inf"), "link": float("inf")}
        for round_number in range(ROUNDS):
            with tempfile.TemporaryDirectory() as scratch:
                order = ["direct", "link"] if round_number % 2 == 0 else ["link", "direct"]
                for name in order:
                    directory = Path(scratch) / name
                    took = (
                        await _direct(directory, grouped)
                        if name == "direct"
                        else await _linked(directory, frames)
                    )
                    best[name] = min(best[name], took / count / 1000)
        print(
            f"frames of {size:>3}: direct {best['direct']:.2f} us/command, "
            f"through the link {best['link']:.2f}: the link {best['link'] - best['direct']:.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
