"""A bare FIX initiator for tests: numbers its messages, reads whole frames."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from server.gateways.fix import dictionary
from server.gateways.fix.codec import Framer, encode
from server.gateways.fix.message import parse, split
from server.gateways.fix.session import SessionID
from server.gateways.fix.validate import validate


class Client:
    """A bare FIX initiator: numbers its messages, reads whole frames."""

    def __init__(
        self, session: SessionID, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.id = session
        self.reader = reader
        self.writer = writer
        self.framer = Framer.empty()
        self.seq = 0

    def send(self, msg_type: str, *body: tuple[int, str]) -> None:
        self.seq += 1
        now = datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f")[:-3]
        header = [(8, self.id.begin_string), (35, msg_type), (34, str(self.seq))]
        header += [(49, self.id.target_comp_id), (52, now), (56, self.id.sender_comp_id)]
        self.writer.write(encode(header + list(body)))

    async def read(self) -> dict[int, str]:
        """The next message, which must be valid by the data dictionary of its version."""
        while True:
            frame = self.framer.next_frame()
            if frame is not None:
                spec = dictionary.load(self.id.begin_string)
                problem = validate(parse(frame, spec), spec)
                assert problem is None, f"{problem} in {frame!r}"
                return dict(split(frame, None))
            data = await asyncio.wait_for(self.reader.read(65536), 10)
            assert data, "connection closed"
            self.framer.feed(data)
