"""Sequence numbers and sent messages survive a restart of the acceptor.

Without ResetOnLogon the counterparty logs on again after the restart with its
next sequence number and is answered with ours; a ResendRequest is answered
from the persisted store (gap fill for admin messages, PossDup resends of
application messages).
"""

from __future__ import annotations

import asyncio
import time
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
OUR_HEADER = "49=ISLD|52=00000000-00:00:00.000|56=TW44"

BEFORE = [
    "iCONNECT",
    f"I8=FIX.4.4|35=A|34=1|{HEADER}|98=0|108=30|",
    f"E8=FIX.4.4|35=A|34=1|{OUR_HEADER}|98=0|108=30|",
    f"I8=FIX.4.4|35=D|34=2|{HEADER}|11=A1|21=3|40=1|54=1|55=INTC|60=<TIME>|",
    f"E8=FIX.4.4|35=D|34=2|{OUR_HEADER}|11=A1|21=3|40=1|54=1|55=INTC|60=00000000-00:00:00|",
    "iDISCONNECT",
]
AFTER = [
    "iCONNECT",
    # Our next number is 3 and theirs is 3: both continue from the store.
    f"I8=FIX.4.4|35=A|34=3|{HEADER}|98=0|108=30|",
    f"E8=FIX.4.4|35=A|34=3|{OUR_HEADER}|98=0|108=30|",
    f"I8=FIX.4.4|35=2|34=4|{HEADER}|7=1|16=0|",
    # The Logon (1) becomes a gap fill, the order (2) is resent, our new Logon (3) a gap fill.
    f"E8=FIX.4.4|35=4|34=1|43=Y|{OUR_HEADER}|122=00000000-00:00:00.000|36=2|123=Y|",
    "E8=FIX.4.4|35=D|34=2|43=Y|49=ISLD|52=00000000-00:00:00.000|56=TW44|"
    "122=00000000-00:00:00.000|11=A1|21=3|40=1|54=1|55=INTC|60=00000000-00:00:00|",
    f"E8=FIX.4.4|35=4|34=3|43=Y|{OUR_HEADER}|122=00000000-00:00:00.000|36=4|123=Y|",
    f"I8=FIX.4.4|35=5|34=5|{HEADER}|",
    f"E8=FIX.4.4|35=5|34=4|{OUR_HEADER}|",
    "eDISCONNECT",
]


async def _run(store_path: Path, lines: list[str], settings: SessionSettings) -> None:
    store = StoreDatabase(store_path)
    session = Session(
        ID, dictionary.load(ID.begin_string), store.store(str(ID)), EchoApplication(), settings
    )
    acceptor = Acceptor([session], store.commit)
    port = await acceptor.start("127.0.0.1", 0)
    try:
        await asyncio.wait_for(Runner(port, PATTERNS).run_lines(lines), 30)
        # Let the acceptor see the disconnection before it stops.
        deadline = time.monotonic() + 5
        while session.link is not None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await acceptor.stop()
        store.close()


def test_sequence_numbers_and_messages_survive_a_restart(tmp_path: Path) -> None:
    settings = SessionSettings(reset_on_logon=False)
    asyncio.run(_run(tmp_path / "fix.db", BEFORE, settings))
    asyncio.run(_run(tmp_path / "fix.db", AFTER, settings))


def test_reset_on_logon_starts_both_sides_at_one(tmp_path: Path) -> None:
    settings = SessionSettings(reset_on_logon=True)
    asyncio.run(_run(tmp_path / "fix.db", BEFORE, settings))
    asyncio.run(_run(tmp_path / "fix.db", BEFORE, settings))


def test_a_stale_sequence_number_after_a_restart_is_logged_out(tmp_path: Path) -> None:
    settings = SessionSettings(reset_on_logon=False)
    asyncio.run(_run(tmp_path / "fix.db", BEFORE, settings))
    stale = [
        "iCONNECT",
        f"I8=FIX.4.4|35=A|34=1|{HEADER}|98=0|108=30|",
        f"E8=FIX.4.4|35=5|34=3|{OUR_HEADER}|58=MsgSeqNum too low, expecting 3 but received 1|",
        "eDISCONNECT",
    ]
    asyncio.run(_run(tmp_path / "fix.db", stale, settings))
