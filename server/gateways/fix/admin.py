"""Building the session layer's own messages: rejects and timestamps.

The Reject's fields and texts are the reference engine's, word for word:
counterparties certified against QuickFIX compare them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from server.gateways.fix import validate as v
from server.gateways.fix.message import Message
from server.gateways.fix.tags import (
    BUSINESS_REJECT_REASON,
    BUSINESS_REJECT_TEXTS,
    MSG_SEQ_NUM,
    MSG_TYPE,
    REF_MSG_TYPE,
    REF_SEQ_NUM,
    REF_TAG_ID,
    SESSION_REJECT_REASON,
    TEXT,
)

# Header routing fields swapped on a reject: OnBehalfOf* <-> DeliverTo*.
_TIMESTAMP = re.compile(r"(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?")
_REVERSE_ROUTE = ((115, 128), (116, 129), (144, 145))


def new(msg_type: str) -> Message:
    message = Message()
    message.set_header(MSG_TYPE, msg_type)
    return message


def reject(message: Message, reason: int, tag: int | None, begin_string: str) -> Message:
    """A session-level Reject (3) of `message` (header routing reversed)."""
    answer = new("3")
    for a, b in _REVERSE_ROUTE:
        for source, target in ((a, b), (b, a)):
            value = message.header_value(source)
            if value:
                answer.set_header(target, value)
    msg_type = message.msg_type
    seq_text = message.header_value(MSG_SEQ_NUM)
    if seq_text:
        answer.set(REF_SEQ_NUM, seq_text)
    if begin_string >= "FIX.4.2":
        if msg_type:
            answer.set(REF_MSG_TYPE, msg_type)
        # FIX 4.2 defines SessionRejectReason values up to 11 only.
        if begin_string > "FIX.4.2" or reason <= v.INVALID_MSG_TYPE:
            answer.set(SESSION_REJECT_REASON, str(reason))
    text = v.REJECT_TEXTS.get(reason)
    if text is not None:
        if tag is not None or reason == v.INVALID_TAG_NUMBER:
            if begin_string >= "FIX.4.2":
                answer.set(REF_TAG_ID, str(tag))
                answer.set(TEXT, text)
            else:
                answer.set(TEXT, f"{text} ({tag})")
        else:
            answer.set(TEXT, text)
    return answer


def business_reject(message: Message, reason: int, tag: int | None) -> Message:
    """A BusinessMessageReject (j) of an application message."""
    answer = new("j")
    answer.set(REF_MSG_TYPE, message.msg_type)
    answer.set(REF_SEQ_NUM, message.header_value(MSG_SEQ_NUM) or "0")
    answer.set(BUSINESS_REJECT_REASON, str(reason))
    text = BUSINESS_REJECT_TEXTS.get(reason, "Other")
    answer.set(TEXT, f"{text} ({tag})" if tag is not None else text)
    return answer


def utc_timestamp(now: float) -> str:
    """A FIX UTCTimestamp with milliseconds."""
    moment = datetime.fromtimestamp(now, UTC)
    return moment.strftime("%Y%m%d-%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def parse_timestamp(text: str) -> float | None:
    """Seconds since the epoch of a FIX UTCTimestamp (YYYYMMDD-HH:MM:SS with up
    to 6 fractional digits); None if it is not one. Every message's SendingTime
    comes through here: a regular expression and the datetime constructor
    (which checks the ranges) cost a fifth of ``strptime``'s time."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            int((fraction or "0").ljust(6, "0")), UTC,
        )  # fmt: skip
    except ValueError:
        return None
    return moment.timestamp()
