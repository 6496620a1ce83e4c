"""A runner for QuickFIX acceptance scenarios (.def files; quickfix/README.md has the format).

Independent of the gateway's own codec on purpose: messages are cut from the
stream at "<SOH>10=nnn<SOH>" and compared field by field as text, so that a
framing or length bug in the gateway cannot hide behind the same bug here.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

SOH = "\x01"
# How long one expected message or disconnection may take to arrive (the
# heartbeat scenarios wait up to 1.2 x HeartBtInt between two messages).
READ_TIMEOUT = 15.0
DISCONNECT_TIMEOUT = 10.0
_LINE = re.compile(r"^([IEie])(?:(\d),)?(.*)$")
_TIME = re.compile(r"<TIME(?:([+-])(\d+))?>")
_END = re.compile(rb"\x0110=\d+\x01")


class ScenarioError(AssertionError):
    pass


def load_patterns(path: Path) -> dict[str, re.Pattern[str]]:
    patterns: dict[str, re.Pattern[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            tag, pattern = line.split("=", 1)
            patterns[tag] = re.compile(pattern)
    return patterns


def timify(text: str, now: datetime) -> str:
    def replace(match: re.Match[str]) -> str:
        shift = int(match[2] or 0) * (-1 if match[1] == "-" else 1)
        return (now + timedelta(seconds=shift)).strftime("%Y%m%d-%H:%M:%S")

    return _TIME.sub(replace, text)


def fixify(message: str) -> str:
    """Fill in BodyLength and CheckSum where the line has none (as the reference runner)."""
    if not message.startswith("8="):
        return message
    head, rest = message.split(SOH, 1)
    head += SOH
    has_length = re.search(r"\x019=.*?\x01", message) is not None
    trailer_match = re.search(r"\x0110=.*\x01$", SOH + rest)
    checksum = None
    if trailer_match is not None:
        # As the reference runner: the SOH before 10= goes with the checksum.
        checksum = trailer_match[0]
        rest = (SOH + rest)[: trailer_match.start()][1:]
    length = "" if has_length else f"9={len(rest)}{SOH}"
    if checksum is None:
        total = sum((head + length + rest).encode("latin-1")) % 256
        checksum = f"10={total:03d}{SOH}"
    return head + length + rest + checksum


@dataclass
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    buffer: bytes = b""

    async def read_message(self) -> str:
        while True:
            match = _END.search(self.buffer)
            if match is not None:
                message, self.buffer = self.buffer[: match.end()], self.buffer[match.end() :]
                return message.decode("latin-1")
            data = await asyncio.wait_for(self.reader.read(65536), READ_TIMEOUT)
            if not data:
                raise ScenarioError(f"connection closed; unread: {self.buffer!r}")
            self.buffer += data


@dataclass
class Runner:
    port: int
    patterns: dict[str, re.Pattern[str]]
    connections: dict[int, Connection] = field(default_factory=dict)

    async def run(self, path: Path) -> None:
        await self.run_lines(path.read_text(encoding="latin-1").splitlines())

    async def run_lines(self, lines: list[str]) -> None:
        """Play a scenario; "|" may stand for SOH in lines written by tests."""
        lines = [line.replace("|", SOH) for line in lines]
        try:
            for number, raw in enumerate(lines, 1):
                line = raw.rstrip("\r")
                if not line.strip() or line.startswith("#"):
                    continue
                match = _LINE.match(line)
                if match is None:
                    raise ScenarioError(f"line {number}: cannot read {line!r}")
                action, cid, body = match[1], int(match[2] or 1), match[3]
                try:
                    await self._step(action, cid, body)
                except (TimeoutError, ScenarioError) as error:
                    shown = body.replace(SOH, "|")
                    raise ScenarioError(f"line {number} {action}{shown}: {error!r}") from None
        finally:
            for connection in self.connections.values():
                connection.writer.close()

    async def _step(self, action: str, cid: int, body: str) -> None:
        if action == "i":
            if body == "CONNECT":
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                self.connections[cid] = Connection(reader, writer)
            elif body == "DISCONNECT":
                self.connections.pop(cid).writer.close()
            else:
                raise ScenarioError(f"unknown action i{body}")
            return
        if action == "e":
            if body != "DISCONNECT":
                raise ScenarioError(f"unknown action e{body}")
            await self._expect_disconnect(self.connections.pop(cid))
            return
        message = fixify(timify(body, datetime.now(UTC)))
        connection = self.connections[cid]
        if action == "I":
            connection.writer.write(message.encode("latin-1"))
            await connection.writer.drain()
        else:
            received = await connection.read_message()
            self._compare(message, received)

    async def _expect_disconnect(self, connection: Connection) -> None:
        if connection.buffer:
            raise ScenarioError(f"unexpected message: {connection.buffer!r}")
        data = await asyncio.wait_for(connection.reader.read(65536), DISCONNECT_TIMEOUT)
        connection.writer.close()
        if data:
            raise ScenarioError(f"expected a disconnection, got {data!r}")

    def _compare(self, expected: str, received: str) -> None:
        want = expected.rstrip(SOH).split(SOH)
        got = received.rstrip(SOH).split(SOH)
        shown = f"expected {expected.replace(SOH, '|')} got {received.replace(SOH, '|')}"
        if len(want) != len(got):
            raise ScenarioError(f"number of fields differ: {shown}")
        for w, g in zip(want, got, strict=True):
            w_tag, _, w_value = w.partition("=")
            g_tag, _, g_value = g.partition("=")
            if w_tag != g_tag:
                raise ScenarioError(f"tag {g_tag} where {w_tag} was expected: {shown}")
            pattern = self.patterns.get(w_tag)
            if pattern is not None:
                # Anchored at the start only, like the reference runner's =~ on a
                # prefix pattern: 122's pattern has no milliseconds, its value does.
                if pattern.match(g_value) is None:
                    raise ScenarioError(
                        f"{g_tag}={g_value} does not match {pattern.pattern}: {shown}"
                    )
            elif w_value != g_value:
                raise ScenarioError(f"{g_tag}={g_value} where {w_value} was expected: {shown}")
