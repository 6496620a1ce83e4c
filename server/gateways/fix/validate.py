"""Data-dictionary validation of a parsed message: the first problem, as a value.

The checks and their order are the reference engine's (QuickFIX's
DataDictionary::validate), since peers expect the same SessionRejectReason and
RefTagID for the same malformed message: structure, MsgType, required fields
(header, trailer, body, group entries), then each field by tag: repeated,
empty, malformed, not an allowed value, unknown tag, not in this message type,
group count mismatch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from server.gateways.fix.dictionary import Dictionary, Layout
from server.gateways.fix.message import Entry, Field, GroupValue, Message

# SessionRejectReason (373) values.
INVALID_TAG_NUMBER = 0
REQUIRED_TAG_MISSING = 1
TAG_NOT_DEFINED_FOR_MESSAGE = 2
TAG_WITHOUT_VALUE = 4
VALUE_INCORRECT = 5
INCORRECT_DATA_FORMAT = 6
COMPID_PROBLEM = 9
SENDING_TIME_ACCURACY = 10
INVALID_MSG_TYPE = 11
TAG_APPEARS_MORE_THAN_ONCE = 13
TAG_OUT_OF_ORDER = 14
GROUP_COUNT_MISMATCH = 16

# Tag 58 texts, word for word the reference engine's (peers compare them).
REJECT_TEXTS = {
    INVALID_TAG_NUMBER: "Invalid tag number",
    REQUIRED_TAG_MISSING: "Required tag missing",
    TAG_NOT_DEFINED_FOR_MESSAGE: "Tag not defined for this message type",
    TAG_WITHOUT_VALUE: "Tag specified without a value",
    VALUE_INCORRECT: "Value is incorrect (out of range) for this tag",
    INCORRECT_DATA_FORMAT: "Incorrect data format for value",
    COMPID_PROBLEM: "CompID problem",
    SENDING_TIME_ACCURACY: "SendingTime accuracy problem",
    INVALID_MSG_TYPE: "Invalid MsgType",
    TAG_APPEARS_MORE_THAN_ONCE: "Tag appears more than once",
    TAG_OUT_OF_ORDER: "Tag specified out of required order",
    GROUP_COUNT_MISMATCH: "Incorrect NumInGroup count for repeating group",
}


@dataclass(frozen=True, slots=True)
class Violation:
    """Why a message is rejected: a SessionRejectReason and the tag at fault."""

    reason: int
    tag: int | None = None


_INT = re.compile(r"-?\d+")
_DECIMAL = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")
_TIMESTAMP = re.compile(r"(\d{4})(\d{2})(\d{2})-(\d{2}):(\d{2}):(\d{2})(\.\d{3}|\.\d{6}|\.\d{9})?")
_TIME_ONLY = re.compile(r"(\d{2}):(\d{2}):(\d{2})(\.\d{3}|\.\d{6}|\.\d{9})?")
_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")

_INT_TYPES = frozenset({"INT", "NUMINGROUP", "SEQNUM", "LENGTH", "DAYOFMONTH"})
_DECIMAL_TYPES = frozenset({"FLOAT", "QTY", "PRICE", "AMT", "PRICEOFFSET", "PERCENTAGE"})


def _valid_time(hour: str, minute: str, second: str) -> bool:
    return int(hour) < 24 and int(minute) < 60 and int(second) <= 60


def _valid_date(month: str, day: str) -> bool:
    return 1 <= int(month) <= 12 and 1 <= int(day) <= 31


def well_formed(field_type: str, value: str) -> bool:
    """Whether a value has the syntax of its FIX type."""
    if field_type in _INT_TYPES:
        return _INT.fullmatch(value) is not None
    if field_type in _DECIMAL_TYPES:
        return _DECIMAL.fullmatch(value) is not None
    if field_type == "CHAR":
        return len(value) == 1
    if field_type == "BOOLEAN":
        return value in ("Y", "N")
    if field_type == "UTCTIMESTAMP":
        m = _TIMESTAMP.fullmatch(value)
        return m is not None and _valid_date(m[2], m[3]) and _valid_time(m[4], m[5], m[6])
    if field_type == "UTCTIMEONLY":
        m = _TIME_ONLY.fullmatch(value)
        return m is not None and _valid_time(m[1], m[2], m[3])
    if field_type in ("UTCDATE", "UTCDATEONLY"):
        m = _DATE.fullmatch(value)
        return m is not None and _valid_date(m[2], m[3])
    return True


def validate(message: Message, dictionary: Dictionary) -> Violation | None:
    """The first problem of a message against its dictionary, None if it is valid."""
    if message.misplaced_tag is not None:
        return Violation(TAG_OUT_OF_ORDER, message.misplaced_tag)
    layout = dictionary.layout(message.msg_type)
    if layout is None:
        return Violation(INVALID_MSG_TYPE)
    missing = _missing(message, dictionary, layout)
    if missing is not None:
        return Violation(REQUIRED_TAG_MISSING, missing)
    header = sorted(message.header, key=lambda f: (f[0] not in (8, 9, 35), _rank(f[0])))
    return (
        _iterate(list[Entry](header), dictionary, None)
        or _iterate(list[Entry](message.trailer), dictionary, None)
        or _iterate(message.body, dictionary, layout)
    )


def _rank(tag: int) -> int:
    return {8: 0, 9: 1, 35: 2}.get(tag, tag)


def _tags(entries: list[Entry]) -> set[int]:
    return {e[0] if isinstance(e, tuple) else e.tag for e in entries}


def _missing(message: Message, dictionary: Dictionary, layout: Layout) -> int | None:
    present = _tags(list[Entry](message.header))
    for tag in sorted(dictionary.header.required):
        if tag not in present:
            return tag
    present = _tags(list[Entry](message.trailer))
    for tag in sorted(dictionary.trailer.required):
        if tag not in present:
            return tag
    return _missing_in(message.body, layout)


def _missing_in(entries: list[Entry], layout: Layout) -> int | None:
    present = _tags(entries)
    for tag in sorted(layout.required):
        if tag not in present:
            return tag
    for entry in entries:
        if isinstance(entry, GroupValue) and entry.tag in layout.groups:
            inner = layout.groups[entry.tag].layout
            for group_entry in entry.entries:
                missing = _missing_in(group_entry, inner)
                if missing is not None:
                    return missing
    return None


def _iterate(
    entries: list[Entry], dictionary: Dictionary, layout: Layout | None
) -> Violation | None:
    """Field checks in tag order; `layout` None for header and trailer fields."""
    ordered = entries if layout is None else sorted(entries, key=_entry_tag)
    last: int | None = None
    for entry in ordered:
        tag, value = entry if isinstance(entry, tuple) else (entry.tag, entry.count)
        if tag == last:
            return Violation(TAG_APPEARS_MORE_THAN_ONCE, tag)
        last = tag
        problem = _check_field((tag, value), dictionary, layout)
        if problem is not None:
            return problem
        if layout is not None and tag in layout.groups:
            present = len(entry.entries) if isinstance(entry, GroupValue) else 0
            if not _INT.fullmatch(value) or int(value) != present:
                return Violation(GROUP_COUNT_MISMATCH, tag)
    if layout is not None:
        for entry in ordered:
            if isinstance(entry, GroupValue) and entry.tag in layout.groups:
                inner = layout.groups[entry.tag].layout
                for group_entry in entry.entries:
                    problem = _iterate(group_entry, dictionary, inner)
                    if problem is not None:
                        return problem
    return None


def _entry_tag(entry: Entry) -> int:
    return entry[0] if isinstance(entry, tuple) else entry.tag


def _check_field(field: Field, dictionary: Dictionary, layout: Layout | None) -> Violation | None:
    tag, value = field
    if value == "":
        return Violation(TAG_WITHOUT_VALUE, tag)
    definition = dictionary.fields.get(tag)
    if definition is not None:
        if not well_formed(definition.type, value):
            return Violation(INCORRECT_DATA_FORMAT, tag)
        if definition.values and not _allowed(definition.type, value, definition.values):
            return Violation(VALUE_INCORRECT, tag)
    if definition is None:
        return Violation(INVALID_TAG_NUMBER, tag)
    if layout is not None and tag not in layout.fields:
        return Violation(TAG_NOT_DEFINED_FOR_MESSAGE, tag)
    return None


def _allowed(field_type: str, value: str, values: frozenset[str]) -> bool:
    if field_type == "MULTIPLEVALUESTRING":
        return all(part in values for part in value.split(" "))
    return value in values
