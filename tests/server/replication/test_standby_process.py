"""``stx serve standby --primary`` as a process: it follows, stops cleanly on
SIGTERM, and ends with exit code 1 and a clear line when it must not follow."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from matching import FundAccount
from server.bench.workload import instruments
from server.core.exchange import ExchangeCore
from server.journal import Durability
from tests.server.replication.harness import primary, records, until

STX = Path(sys.executable).with_name("stx")


async def _standby(directory: Path, port: int) -> asyncio.subprocess.Process:
    environ = {**os.environ, "STX_METRICS_PORT": "0", "STX_LOG_FORMAT": "console"}
    return await asyncio.create_subprocess_exec(
        str(STX), "serve", "standby", "--data-dir", str(directory),
        "--primary", f"127.0.0.1:{port}",
        env=environ, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


def test_the_standby_process_follows_and_stops_on_sigterm(tmp_path: Path) -> None:
    main, spare = tmp_path / "primary", tmp_path / "standby"

    async def scenario() -> int:
        async with primary(main) as (core, server):
            sequencer = core.sequencer
            for index in range(20):
                sequencer.submit(FundAccount(sequencer.now(), f"account-{index}", 1_000))
            await sequencer.durable()
            process = await _standby(spare, server.port)
            try:
                await until(lambda: server.acked == sequencer.durable_sequence, "acked", 60)
            finally:
                process.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(process.wait(), 30)
        return code

    assert asyncio.run(scenario()) == 0
    assert records(spare) == records(main)


def test_a_standby_ahead_of_the_primary_exits_1_with_the_reason(tmp_path: Path) -> None:
    main, spare = tmp_path / "primary", tmp_path / "standby"

    async def other_exchange() -> None:
        core = ExchangeCore.open(spare, instruments(), durability=Durability.NONE)
        await core.start()
        for index in range(50):
            core.sequencer.submit(FundAccount(core.sequencer.now(), f"other-{index}", 1))
        await core.close(final_snapshot=False)

    async def scenario() -> tuple[int, bytes]:
        async with primary(main) as (_, server):
            process = await _standby(spare, server.port)
            output, _ = await asyncio.wait_for(process.communicate(), 60)
            assert process.returncode is not None
            return process.returncode, output

    asyncio.run(other_exchange())
    code, output = asyncio.run(scenario())
    assert code == 1
    assert b"ahead of this primary" in output
