"""The acceptor's test-mode application: the one the QuickFIX acceptance suite assumes.

It echoes NewOrderSingle (D) and SecurityDefinition (d) back to the sender,
drops a PossResend order whose ClOrdID this session has already seen, and
refuses every other application message with BusinessMessageReject
"Unsupported Message Type". Nothing reaches the exchange.
"""

from __future__ import annotations

from server.gateways.fix.message import Message
from server.gateways.fix.session import Session
from server.gateways.fix.tags import UNSUPPORTED_MESSAGE_TYPE

CL_ORD_ID = 11
POSS_RESEND = 97


class EchoApplication:
    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()

    def on_logon(self, session: Session) -> None:
        return None

    def on_logout(self, session: Session) -> None:
        return None

    def from_app(self, session: Session, message: Message) -> int | None:
        msg_type = message.msg_type
        if msg_type == "D":
            key = (str(session.id), message.value(CL_ORD_ID) or "")
            if message.header_value(POSS_RESEND) == "Y" and key in self._seen:
                return None
            self._seen.add(key)
        elif msg_type != "d":
            return UNSUPPORTED_MESSAGE_TYPE
        # A new header (the session stamps its own); body entries are not changed.
        session.send(Message(list(message.header), list(message.body), list(message.trailer)))
        return None
