"""FIX order entry through a real ``stx serve`` with a FIX session configured,
and a kill -9 of the FIX process: the supervisor restarts it, the session
resumes with the persisted sequence numbers and a ResendRequest is answered
from the store."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from importlib import resources
from pathlib import Path

from server.gateways.fix.session import SessionID
from tests.e2e.serve import admin_token, free_port, prepare_accounts, roles_of, start_server
from tests.server.gateways.fix.client import Client

ID = SessionID("FIX.4.4", "STX", "ACME")


def _config(path: Path, fix_port: int) -> Path:
    demo = resources.files("server").joinpath("demo.toml").read_text()
    path.write_text(
        demo + f'\n[fix]\nport = {fix_port}\n\n[[fix.sessions]]\nbegin_string = "FIX.4.4"\n'
        'sender_comp_id = "STX"\ntarget_comp_id = "ACME"\naccounts = ["acme"]\n'
    )
    return path


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


async def _connect(port: int, first_seq: int) -> Client:
    client = Client(ID, *await asyncio.open_connection("127.0.0.1", port))
    client.seq = first_seq - 1
    return client


def test_fix_order_entry_survives_a_kill_9_of_its_process(tmp_path: Path) -> None:
    fix_port = free_port()
    config = _config(tmp_path / "stx.toml", fix_port)
    port = free_port()
    server = start_server(tmp_path / "data", port, config=config)
    prepare_accounts(port, admin_token(port), "acme")
    _wait_for_port(fix_port)

    async def before() -> None:
        client = await _connect(fix_port, 1)
        client.send("A", (98, "0"), (108, "30"))
        assert (await client.read())[34] == "1"
        client.send("D", (11, "k1"), (38, "10"), (40, "2"), (44, "188"), (54, "1"),
                    (55, "AAPL"), (60, "20260101-00:00:00"))  # fmt: skip
        report = await client.read()
        assert (report[35], report[34], report[150], report[11]) == ("8", "2", "0", "k1")
        client.writer.close()

    asyncio.run(before())
    killed = roles_of(server.pid)["fix"]
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while roles_of(server.pid).get("fix") in (None, killed) and time.monotonic() < deadline:
        time.sleep(0.1)
    _wait_for_port(fix_port)

    async def after() -> None:
        client = await _connect(fix_port, 3)
        client.send("A", (98, "0"), (108, "30"))
        logon = await client.read()
        assert (logon[35], logon[34]) == ("A", "3")
        client.send("2", (7, "1"), (16, "0"))
        answers = [await client.read() for _ in range(3)]
        assert [(a[35], a[34], a.get(36), a.get(43)) for a in answers] == [
            ("4", "1", "2", "Y"),
            ("8", "2", None, "Y"),
            ("4", "3", "4", "Y"),
        ]
        assert answers[1][11] == "k1"
        client.send("5")
        assert (await client.read())[35] == "5"
        client.writer.close()

    asyncio.run(after())
    server.send_signal(signal.SIGINT)
    assert server.wait(60) == 0
