"""The FIX acceptor's asyncio transport: TCP connections bound to configured sessions.

A connection is bound to a session by its first message, which must be a
Logon naming a configured identity (BeginString, SenderCompID, TargetCompID);
anything else, or a second connection for a session already connected (one
session per identity), is closed without an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from server.gateways.fix.codec import FrameError, Framer
from server.gateways.fix.message import ParseError, split
from server.gateways.fix.session import Session, SessionID

log = logging.getLogger(__name__)

# How often heartbeats, TestRequests and timeouts are looked at, in seconds.
TIMER_INTERVAL = 0.25
# Seconds a new connection has to send its Logon before it is closed.
LOGON_TIMEOUT = 10.0

SignIn = Callable[[Session, dict[int, str], str], Awaitable[str | None]]
"""Checks a connection's Logon (its fields, the peer's address) before the session
sees it: None to let it in, else the text of the Logout that refuses it."""
_READ_SIZE = 1 << 16


class StreamLink:
    """A session's connection. What is sent waits for the end of the event
    loop's current step, then the store commits and the bytes go out together:
    a message never leaves before it is kept, and a burst costs one commit."""

    def __init__(self, writer: asyncio.StreamWriter, commit: Callable[[], None]) -> None:
        self.writer = writer
        self.closed = False
        self._commit = commit
        self._pending: list[bytes] = []

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        if not self._pending or self.closed:
            return
        self._commit()
        data = b"".join(self._pending)
        self._pending.clear()
        self.writer.write(data)

    def close(self) -> None:
        if not self.closed:
            self.flush()
            self.closed = True
            self.writer.close()


class Acceptor:
    """Serves the given sessions on one listening socket."""

    def __init__(
        self,
        sessions: list[Session],
        commit: Callable[[], None],
        logon_timeout: float = LOGON_TIMEOUT,
        sign_in: SignIn | None = None,
    ) -> None:
        """`commit` makes the sessions' store writes durable (`StoreDatabase.commit`)."""
        self.sessions = {s.id: s for s in sessions}
        self._commit = commit
        self._logon_timeout = logon_timeout
        self._sign_in = sign_in
        self._server: asyncio.Server | None = None
        self._timer: asyncio.Task[None] | None = None
        self._connections: dict[asyncio.Task[None], StreamLink] = {}

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the bound port (useful with port 0)."""
        self._server = await asyncio.start_server(self._connection, host, port)
        self._timer = asyncio.create_task(self._tick())
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        if self._server is not None:
            self._server.close()
        for session in self.sessions.values():
            session.disconnect()
        for link in self._connections.values():
            link.close()
        if self._connections:
            # Each connection's task sees its socket closed and ends.
            await asyncio.wait(list(self._connections), timeout=5)
        if self._server is not None:
            await self._server.wait_closed()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TIMER_INTERVAL)
            for session in self.sessions.values():
                session.on_timer()
            self._commit()

    def _bind(self, frame: bytes, link: StreamLink) -> Session | None:
        try:
            fields = dict(split(frame, None))
        except ParseError:
            return None
        session_id = SessionID(fields.get(8, ""), fields.get(56, ""), fields.get(49, ""))
        session = self.sessions.get(session_id)
        if session is None:
            log.info("FIX connection for unknown session %s closed", session_id)
            return None
        if fields.get(35) != "A":
            log.info("%s: first message is not a Logon; connection closed", session_id)
            return None
        if session.link is not None:
            log.info("%s: already connected; second connection closed", session_id)
            return None
        session.attach(link)
        return session

    async def _check(
        self, session: Session, frame: bytes, writer: asyncio.StreamWriter
    ) -> str | None:
        if self._sign_in is None:
            return None
        peer = writer.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) else str(peer or "unknown")
        return await self._sign_in(session, dict(split(frame, None)), address)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = StreamLink(writer, self._commit)
        framer = Framer.empty()
        session: Session | None = None
        task = asyncio.current_task()
        assert task is not None, "a connection runs in a task"
        self._connections[task] = link
        try:
            while not link.closed:
                if session is None:
                    try:
                        data = await asyncio.wait_for(reader.read(_READ_SIZE), self._logon_timeout)
                    except TimeoutError:
                        log.info(
                            "FIX connection sent no Logon in %.0f s: closed", self._logon_timeout
                        )
                        break
                else:
                    data = await reader.read(_READ_SIZE)
                if not data:
                    break
                framer.feed(data)
                while not link.closed:
                    try:
                        frame = framer.next_frame()
                    except FrameError as error:
                        log.info("unframeable FIX bytes dropped: %s", error)
                        continue
                    if frame is None:
                        break
                    if session is None:
                        session = self._bind(frame, link)
                        if session is None:
                            link.close()
                            break
                        refusal = await self._check(session, frame, writer)
                        if refusal is not None:
                            session.refuse_logon(refusal)
                            break
                    session.on_frame(frame)
                # What the chunk's messages changed (expected numbers) is kept now.
                self._commit()
                if not link.closed:
                    await writer.drain()
        except ConnectionError as error:
            log.info("FIX connection lost: %s", error)
        finally:
            if session is not None and session.link is link:
                session.disconnect()
            link.close()
            self._connections.pop(task, None)
