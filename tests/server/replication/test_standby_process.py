"""``stx serve standby --primary`` as a process: it follows, stops cleanly on
SIGTERM, and ends with exit code 1 and a clear line when it must not follow."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from matching import FundAccount
from server.bench.workload import instruments
from server.core.exchange import ExchangeCore
from server.journal import Durability
from tests.server.replication.harness import free_port, primary, records, until

STX = Path(sys.executable).with_name("stx")


async def _standby(directory: Path, port: int) -> asyncio.subprocess.Process:
    environ = {**os.environ, "STX_METRICS_PORT": "0", "STX_LOG_FORMAT": "console"}
    return await asyncio.create_subprocess_exec(
        str(STX), "serve", "standby", "--data-dir", str(directory),
        "--primary", f"127.0.0.1:{port}",
        env=environ, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


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


@pytest.mark.parametrize("given_in", ["file", "environment"])
def test_stx_serve_core_replicates_to_stx_serve_standby(tmp_path: Path, given_in: str) -> None:
    """The primary's [replication] from its file, or from STX_REPLICATION_*
    as the Helm chart's core has it."""
    main, spare = tmp_path / "primary", tmp_path / "standby"
    port = free_port()
    replication = {"listen": f"127.0.0.1:{port}", "mode": "sync"}
    table = "".join(f'{key} = "{value}"\n' for key, value in replication.items())
    config = tmp_path / "primary.toml"
    config.write_text(
        "[server]\nmetrics_port = 0\n\n"
        + (f"[replication]\n{table}\n" if given_in == "file" else "")
        + '[[instruments]]\nsymbol = "AAPL"\ntick_size = "0.01"\n'
        'lot_size = 1\nreference_price = "190.00"\n'
    )
    environ = {**os.environ, "STX_LOG_FORMAT": "console"}
    if given_in == "environment":
        environ |= {f"STX_REPLICATION_{key.upper()}": value for key, value in replication.items()}

    async def scenario() -> tuple[int, int]:
        core = await asyncio.create_subprocess_exec(
            str(STX), "serve", "core", "--config", str(config), "--data-dir", str(main),
            env=environ,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        standby = await _standby(spare, port)
        try:
            # The core's first records (its instrument) reach the standby's journal.
            await until(lambda: len(records(spare)) >= 1, "replicated", 60)
        finally:
            standby.send_signal(signal.SIGTERM)
            core.send_signal(signal.SIGTERM)
            codes = await asyncio.gather(
                asyncio.wait_for(standby.wait(), 30), asyncio.wait_for(core.wait(), 30)
            )
        return codes[0], codes[1]

    assert asyncio.run(scenario()) == (0, 0)
    # The core may journal a last clock tick after the standby left: never acknowledged.
    replicated = records(spare)
    assert replicated == records(main)[: len(replicated)]
