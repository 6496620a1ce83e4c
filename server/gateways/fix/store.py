"""The persisted FIX message store: sequence numbers and sent messages per session.

One SQLite file holds every session of a gateway. Sequence numbers survive a
restart of the gateway (a counterparty resumes where it left off), and every
message we sent stays available for a ResendRequest until the session resets.
SQLite in WAL mode with synchronous=NORMAL: a committed write is durable
against a process crash (the gateway's kill -9), which is what sequence
recovery needs. Writes are grouped: they join one open transaction that
`commit` ends, and the acceptor commits before it writes the messages of
that transaction to their sockets (a message is never out before it is kept),
so a burst of orders costs one commit, not one per message.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fix_sessions (
    session TEXT PRIMARY KEY,
    next_sender INTEGER NOT NULL,
    next_target INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fix_messages (
    session TEXT NOT NULL,
    seq INTEGER NOT NULL,
    raw BLOB NOT NULL,
    PRIMARY KEY (session, seq)
);
"""


class StoreDatabase:
    """The SQLite file shared by the sessions of one gateway."""

    def __init__(self, path: Path | str) -> None:
        self.connection = sqlite3.connect(str(path), isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")
        self.connection.executescript(_SCHEMA)

        self._open = False

    def store(self, session: str) -> MessageStore:
        return MessageStore(self, session)

    def write(self, sql: str, parameters: tuple[object, ...]) -> None:
        """Run a statement inside the open transaction (begun if there is none)."""
        if not self._open:
            self.connection.execute("BEGIN")
            self._open = True
        self.connection.execute(sql, parameters)

    def commit(self) -> None:
        if self._open:
            self.connection.execute("COMMIT")
            self._open = False

    def close(self) -> None:
        self.commit()
        self.connection.close()


class MessageStore:
    """One session's sequence numbers and sent messages."""

    def __init__(self, database: StoreDatabase, session: str) -> None:
        self._db = database
        self._session = session
        row = database.connection.execute(
            "SELECT next_sender, next_target FROM fix_sessions WHERE session = ?", (session,)
        ).fetchone()
        if row is None:
            database.write("INSERT INTO fix_sessions VALUES (?, 1, 1)", (session,))
            database.commit()
            row = (1, 1)
        self.next_sender: int = row[0]
        self.next_target: int = row[1]

    def set_next_sender(self, seq: int) -> None:
        self.next_sender = seq
        self._db.write(
            "UPDATE fix_sessions SET next_sender = ? WHERE session = ?", (seq, self._session)
        )

    def set_next_target(self, seq: int) -> None:
        self.next_target = seq
        self._db.write(
            "UPDATE fix_sessions SET next_target = ? WHERE session = ?", (seq, self._session)
        )

    def save_sent(self, seq: int, raw: bytes) -> None:
        """Keep a sent message and move the next sender number past it."""
        self._db.write(
            "INSERT OR REPLACE INTO fix_messages VALUES (?, ?, ?)", (self._session, seq, raw)
        )
        self.set_next_sender(seq + 1)

    def sent(self, begin: int, end: int) -> list[bytes]:
        """The messages we sent numbered begin..end (inclusive), in order."""
        rows = self._db.connection.execute(
            "SELECT raw FROM fix_messages WHERE session = ? AND seq BETWEEN ? AND ? ORDER BY seq",
            (self._session, begin, end),
        ).fetchall()
        return [bytes(r[0]) for r in rows]

    def reset(self) -> None:
        """Both sequence numbers back to 1 and no message kept."""
        self._db.write("DELETE FROM fix_messages WHERE session = ?", (self._session,))
        self._db.write(
            "UPDATE fix_sessions SET next_sender = 1, next_target = 1 WHERE session = ?",
            (self._session,),
        )
        self.next_sender = 1
        self.next_target = 1
