"""A core with its link, alone in a process (``python -m`` this module DIR):
what the tests kill. It prints ``ready`` once core.sock listens and stops
cleanly (final snapshot) on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import uvloop

from server.bench.workload import instruments
from server.core.exchange import ExchangeCore
from server.journal import Durability
from server.link.listener import CoreLinkServer


async def main(directory: Path) -> None:
    core = ExchangeCore.open(directory, instruments(), durability=Durability.NONE)
    await core.start()
    link = CoreLinkServer(core)
    await link.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await link.close()
    await core.close()


if __name__ == "__main__":
    uvloop.run(main(Path(sys.argv[1])))
