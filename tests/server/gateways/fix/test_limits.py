"""What bounds a counterparty: a connection that never logs on, and messages
queued beyond a sequence gap that is never filled."""

from __future__ import annotations

import asyncio
from pathlib import Path

from server.gateways.fix import dictionary
from server.gateways.fix.acceptor import Acceptor
from server.gateways.fix.echo import EchoApplication
from server.gateways.fix.session import Session, SessionID, SessionSettings
from server.gateways.fix.store import StoreDatabase
from tests.server.gateways.fix.scenario import Runner, load_patterns

PATTERNS = load_patterns(Path(__file__).parent / "quickfix" / "definitions" / "fields.fmt")
ID = SessionID("FIX.4.4", "ISLD", "TW44")
HEADER = "49=TW44|52=<TIME>|56=ISLD"
OURS = "49=ISLD|52=00000000-00:00:00.000|56=TW44"


async def _play(tmp_path: Path, lines: list[str], settings: SessionSettings, logon: float) -> None:
    store = StoreDatabase(tmp_path / "fix.db")
    session = Session(
        ID, dictionary.load(ID.begin_string), store.store(str(ID)), EchoApplication(), settings
    )
    acceptor = Acceptor([session], store.commit, logon_timeout=logon)
    port = await acceptor.start("127.0.0.1", 0)
    try:
        await asyncio.wait_for(Runner(port, PATTERNS).run_lines(lines), 30)
    finally:
        await acceptor.stop()
        store.close()


def test_a_connection_without_logon_is_closed(tmp_path: Path) -> None:
    lines = ["iCONNECT", "eDISCONNECT"]
    asyncio.run(_play(tmp_path, lines, SessionSettings(), logon=0.5))


def test_too_many_messages_beyond_a_gap_end_the_session(tmp_path: Path) -> None:
    lines = [
        "iCONNECT",
        f"I8=FIX.4.4|35=A|34=1|{HEADER}|98=0|108=30|",
        f"E8=FIX.4.4|35=A|34=1|{OURS}|98=0|108=30|",
        f"I8=FIX.4.4|35=0|34=5|{HEADER}|",
        f"E8=FIX.4.4|35=2|34=2|{OURS}|7=2|16=0|",
        f"I8=FIX.4.4|35=0|34=6|{HEADER}|",
        f"I8=FIX.4.4|35=0|34=7|{HEADER}|",
        f"E8=FIX.4.4|35=5|34=3|{OURS}|58=More than 2 messages beyond a gap|",
        "eDISCONNECT",
    ]
    asyncio.run(_play(tmp_path, lines, SessionSettings(max_queued=2), logon=10))
