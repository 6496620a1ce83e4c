"""The core's work per command with its link does not grow with the state
(issue 15: the core's work per command must not grow with the size of any
state, and no consumer may slow it).

What is measured is everything the core process does for a gateway's
commands: the COMMANDS frame decoded and checked for duplicate client
order ids, each command re-stamped and sequenced (journal append, engine,
registry, market state), the batch committed, and its BATCH frame written
to three consumer connections and the RESULT to the gateway's, over real
Unix sockets whose peers never read (so every write lands in the
transports' buffers, as with a consumer that falls behind). The same chunk
of commands runs at 1,000 and at 100,000 resting orders; the ratio of the
cost per event must stay under 2 (``tests/scaling.py``). Run with ``-s``
for the figures.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path

from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.journal.codec import Origin, encode
from server.link.frames import Kind, control
from server.link.listener import CoreLinkServer
from server.model.sequenced import Sequenced
from tests.scaling import LARGE, LIMIT, SMALL, Scenario, measure, scenario

FRAME = 100
"""Commands per COMMANDS frame, as a busy gateway sends them."""
CYCLES = 100
"""Cycles per measured chunk: 900 commands in 9 frames."""
CONSUMERS = 3
ORIGIN = Origin("trader", "127.0.0.1:5000", "grpc")


async def _connect(link: CoreLinkServer, role: str, name: str) -> asyncio.StreamWriter:
    reader, writer = await asyncio.open_unix_connection(str(link.path))
    writer.write(control(Kind.HELLO, [role, name, 0]))
    await reader.read(64)  # the WELCOME; nothing is read after it
    return writer


def test_the_cores_cost_per_command_with_its_link_does_not_grow_with_the_state() -> None:
    async def run() -> None:
        with tempfile.TemporaryDirectory() as scratch:
            cores: list[ExchangeCore] = []
            links: list[CoreLinkServer] = []
            writers: list[asyncio.StreamWriter] = []

            async def open_core(built: Scenario) -> Callable[[list[Sequenced]], object]:
                directory = Path(scratch) / str(built.resting)
                core = ExchangeCore.open(directory, [], durability=Durability.NONE)
                await core.start()
                link = CoreLinkServer(core, lag_limit=1 << 40)
                await link.start()
                cores.append(core)
                links.append(link)
                sequencer = core.sequencer
                # The state is built through the sequencer (not measured).
                for item in built.setup:
                    stamped = item.command._replace(timestamp=sequencer.now())
                    sequencer.submit(stamped, item.client_order_id)
                    if item.sequence % 10_000 == 0:
                        await sequencer.durable()
                await sequencer.durable()
                for number in range(CONSUMERS):
                    writers.append(await _connect(link, "consumer", f"c{number}"))
                writers.append(await _connect(link, "gateway", "g"))
                await asyncio.sleep(0.05)
                (gateway,) = [c for c in link.connections if c.role == "gateway"]
                frames = {
                    chunk[0].sequence: [
                        [
                            encode(item.command, item.client_order_id, ORIGIN)
                            for item in chunk[start : start + FRAME]
                        ]
                        for start in range(0, len(chunk), FRAME)
                    ]
                    for chunk in built.chunks(CYCLES)
                }
                request = 1

                def feed(batch: list[Sequenced]) -> None:
                    nonlocal request
                    for payloads in frames[batch[0].sequence]:
                        link.submit(gateway, request, payloads)
                        request += len(payloads)
                        sequencer.commit_now()

                return feed

            prepared = {size: await open_core(scenario(size)) for size in (SMALL, LARGE)}
            try:
                scaling = measure("core with its link", lambda s: prepared[s.resting], CYCLES)
                assert scaling.ratio < LIMIT, str(scaling)
                assert all(link.dropped == 0 for link in links)
            finally:
                for writer in writers:
                    writer.close()
                for link in links:
                    await link.close()
                for core in cores:
                    await core.close(final_snapshot=False)

    asyncio.run(run())
