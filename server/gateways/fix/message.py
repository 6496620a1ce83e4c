"""A FIX message as header, body (with its repeating groups) and trailer.

Parsing keeps what the validator needs to judge the message (repeated tags,
group counts, the first tag out of header-body-trailer order); writing orders
the fields as the reference engine does, which peers compare literally:
BeginString, BodyLength and MsgType first, the other header fields by tag, the
body by tag with each group's entries after its count field (an entry in the
spec's order, delimiter first), CheckSum last.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.gateways.fix.codec import SOH, check_frame, encode
from server.gateways.fix.dictionary import Dictionary, Layout

Field = tuple[int, str]

BEGIN_STRING = 8
BODY_LENGTH = 9
MSG_TYPE = 35
CHECKSUM = 10
_FIRST_THREE = (BEGIN_STRING, BODY_LENGTH, MSG_TYPE)
_TRAILER_TAGS = frozenset({93, 89, CHECKSUM})


class ParseError(ValueError):
    """The frame is not a FIX message at all (garbled); it is dropped, never answered."""


@dataclass(slots=True)
class GroupValue:
    """A repeating group: its count field's text and the entries actually present."""

    tag: int
    count: str
    entries: list[list[Entry]]


Entry = Field | GroupValue


@dataclass(slots=True)
class Message:
    header: list[Field] = field(default_factory=list)
    body: list[Entry] = field(default_factory=list)
    trailer: list[Field] = field(default_factory=list)
    # The first header (or body) tag found after the body (or trailer) began.
    misplaced_tag: int | None = None

    @property
    def msg_type(self) -> str:
        return self.header_value(MSG_TYPE) or ""

    def header_value(self, tag: int) -> str | None:
        for t, v in self.header:
            if t == tag:
                return v
        return None

    def value(self, tag: int) -> str | None:
        """A top-level body field's text."""
        for entry in self.body:
            if isinstance(entry, tuple) and entry[0] == tag:
                return entry[1]
        return None

    def set_header(self, tag: int, value: str) -> None:
        self.remove_header(tag)
        self.header.append((tag, value))

    def remove_header(self, tag: int) -> None:
        self.header = [(t, v) for t, v in self.header if t != tag]

    def set(self, tag: int, value: str) -> None:
        self.body = [e for e in self.body if not (isinstance(e, tuple) and e[0] == tag)]
        self.body.append((tag, value))

    def to_bytes(self, dictionary: Dictionary | None = None) -> bytes:
        """The frame, with BodyLength and CheckSum computed."""
        first = {t: v for t, v in self.header if t in (BEGIN_STRING, MSG_TYPE)}
        pairs: list[Field] = [(BEGIN_STRING, first[BEGIN_STRING]), (MSG_TYPE, first[MSG_TYPE])]
        rest = sorted(((t, v) for t, v in self.header if t not in _FIRST_THREE), key=lambda f: f[0])
        pairs.extend(rest)
        _flatten(sorted(self.body, key=_entry_tag), pairs)
        pairs.extend((t, v) for t, v in self.trailer if t != CHECKSUM)
        return encode(pairs)


def _entry_tag(entry: Entry) -> int:
    return entry[0] if isinstance(entry, tuple) else entry.tag


def _flatten(entries: list[Entry], out: list[Field]) -> None:
    for entry in entries:
        if isinstance(entry, tuple):
            out.append(entry)
            continue
        out.append((entry.tag, entry.count))
        for group_entry in entry.entries:
            _flatten(group_entry, out)


def _order_entry(entry: list[Entry], layout: Layout) -> list[Entry]:
    """An entry's fields in the spec's order (the delimiter first), unknown ones last."""
    rank = {tag: i for i, tag in enumerate(layout.order)}
    return sorted(entry, key=lambda e: (rank.get(_entry_tag(e), len(rank)), _entry_tag(e)))


def split(frame: bytes, dictionary: Dictionary | None) -> list[Field]:
    """The (tag, text) pairs of a frame; a data field's value may hold SOH."""
    pairs: list[Field] = []
    pos = 0
    end = len(frame)
    previous: Field | None = None
    while pos < end:
        eq = frame.find(b"=", pos)
        if eq < 0:
            raise ParseError("field without '='")
        tag_text = frame[pos:eq]
        try:
            tag = int(tag_text)
        except ValueError:
            raise ParseError(f"invalid tag {tag_text!r}") from None
        value_end = frame.find(SOH, eq + 1)
        if dictionary is not None and previous is not None:
            field_def = dictionary.fields.get(tag)
            prev_def = dictionary.fields.get(previous[0])
            if (
                field_def is not None
                and field_def.type == "DATA"
                and prev_def is not None
                and prev_def.type == "LENGTH"
                and previous[1].isdigit()
            ):
                value_end = eq + 1 + int(previous[1])
                if value_end >= end or frame[value_end : value_end + 1] != SOH:
                    raise ParseError(f"data field {tag} shorter than its length")
        if value_end < 0:
            raise ParseError("field without SOH")
        previous = (tag, frame[eq + 1 : value_end].decode("latin-1"))
        pairs.append(previous)
        pos = value_end + 1
    return pairs


def parse(frame: bytes, dictionary: Dictionary) -> Message:
    """A verified frame as a Message; ParseError when it is garbled.

    Garbled means: not tag=value, first three fields not 8, 9, 35, or a wrong
    BodyLength or CheckSum (the reference engine ignores such frames).
    """
    pairs = split(frame, dictionary)
    if len(pairs) < 3 or tuple(t for t, _ in pairs[:3]) != _FIRST_THREE:
        raise ParseError("Header fields out of order")
    problem = check_frame(frame)
    if problem is not None:
        raise ParseError(problem)
    return build(pairs, dictionary)


def build(pairs: list[Field], dictionary: Dictionary) -> Message:
    """Sort parsed pairs into header, body (with groups) and trailer."""
    message = Message()
    msg_type = next((v for t, v in pairs if t == MSG_TYPE), "")
    layout = dictionary.layout(msg_type)
    header_tags = dictionary.header.fields
    in_body = False
    in_trailer = False
    i = 0
    while i < len(pairs):
        tag, value = pairs[i]
        i += 1
        if tag in header_tags:
            if (in_body or in_trailer) and message.misplaced_tag is None:
                message.misplaced_tag = tag
            message.header.append((tag, value))
        elif tag in _TRAILER_TAGS:
            in_trailer = True
            message.trailer.append((tag, value))
        else:
            if in_trailer and message.misplaced_tag is None:
                message.misplaced_tag = tag
            in_body = True
            if layout is not None and tag in layout.groups:
                group, i = _read_group(pairs, i, tag, value, layout.groups[tag].layout)
                message.body.append(group)
            else:
                message.body.append((tag, value))
    return message


def _read_group(
    pairs: list[Field], i: int, tag: int, count: str, layout: Layout
) -> tuple[GroupValue, int]:
    """Read a group's entries from pairs[i:]; stops at the first field not in the group."""
    group = GroupValue(tag, count, [])
    delimiter = layout.order[0]
    current: list[Entry] | None = None
    seen: set[int] = set()
    while i < len(pairs):
        field_tag, value = pairs[i]
        if field_tag not in layout.fields:
            break
        i += 1
        if field_tag == delimiter or current is None or field_tag in seen:
            current = []
            seen = set()
            group.entries.append(current)
        seen.add(field_tag)
        if field_tag in layout.groups:
            inner, i = _read_group(pairs, i, field_tag, value, layout.groups[field_tag].layout)
            current.append(inner)
        else:
            current.append((field_tag, value))
    group.entries = [_order_entry(entry, layout) for entry in group.entries]
    return group, i
