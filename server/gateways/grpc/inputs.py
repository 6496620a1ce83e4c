"""The input rules every request field obeys, checked at the gateway.

One walk over a request message, driven by its descriptor and the rules
below (by field name and type), finds the first field that breaks a rule
before anything is journaled, a client order id is reserved or the store is
asked. The rules bound what the engine, the journal and the store can hold:

- identifiers have a fixed charset and length (symbols as in
  ``reference_data.proto``, client order and request ids as in ``orders.proto``,
  account ids as the user directory issues them, user ids as it and OIDC
  issuers do), so an unknown
  3 MiB symbol never reaches the journal;
- every other string is at most ``MAX_TEXT`` characters without control
  characters (PostgreSQL refuses NUL in text; the rest are never meant);
- timestamps lie in what the engine's int64 nanoseconds since the epoch can
  hold, 1970-01-01 to 2262-04-11 (protobuf itself allows years 1 to 9999,
  which overflowed the journal's integers);
- 64-bit unsigned numbers (order ids, report sequences) fit in the store's
  signed 64-bit integers; repeated fields have at most ``MAX_REPEATED`` items.

What a field means (a known symbol, a future expiry, a price on tick) stays
the engine's to judge, so a journal replay makes the same decisions. Empty
strings pass here; whether a field is required is the service's rule.
docs/api.md lists these limits for clients.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

MAX_TEXT = 1024
"""Characters in any string without a rule of its own (reasons, labels, names)."""
MAX_REPEATED = 1000
MAX_SYMBOL = 32
MAX_ID = 64
MAX_USER_ID = 260
MAX_PAGE_TOKEN = 64
LATEST_NANOS = 2**63 - 1
"""The engine's times are int64 nanoseconds since the epoch: 2262-04-11T23:47:16Z."""
LARGEST_ID = 2**63 - 1
"""The store keeps ids and sequences in signed 64-bit integers."""

_SYMBOL = re.compile(rf"[\x21-\x2e\x30-\x39\x3b-\x7e]{{1,{MAX_SYMBOL}}}")
"""Printable ASCII without space, '/' or ':' (symbols appear in URL paths)."""
_CLIENT_ORDER_ID = re.compile(rf"[\x20-\x7e]{{1,{MAX_ID}}}")
_ID = re.compile(rf"[A-Za-z0-9_.-]{{1,{MAX_ID}}}")
_USER_ID = re.compile(rf"[\x21-\x7e]{{1,{MAX_USER_ID}}}")
"""Ours are hex; a user signed in through OIDC is ``oidc:`` and the issuer's
``sub`` (at most 255 ASCII characters by OpenID Connect Core)."""
_PAGE_TOKEN = re.compile(rf"[\x21-\x7e]{{1,{MAX_PAGE_TOKEN}}}")
"""Each RPC decodes its own tokens; this only bounds what reaches the decoder."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""C0 controls and DEL, except tab, line feed and carriage return."""


class Violation(NamedTuple):
    """A request field that breaks an input rule: a refusal, not an error."""

    field: str
    description: str


Rule = Callable[[Any, str], Violation | None]


def _pattern(pattern: re.Pattern[str], wording: str) -> Rule:
    matches = pattern.fullmatch

    def check(value: str, where: str) -> Violation | None:
        if matches(value):
            return None
        return Violation(where, f"{where} must be {wording}")

    return check


def _text(value: str, where: str) -> Violation | None:
    if len(value) > MAX_TEXT:
        return Violation(where, f"{where} must be at most {MAX_TEXT} characters")
    if _CONTROL.search(value):
        return Violation(where, f"{where} must not contain control characters")
    return None


_STRING_RULES: dict[str, Rule] = {
    "symbol": _pattern(
        _SYMBOL, f"1-{MAX_SYMBOL} printable ASCII characters without space, '/' or ':'"
    ),
    "client_order_id": _pattern(_CLIENT_ORDER_ID, f"1-{MAX_ID} printable ASCII characters"),
    "client_request_id": _pattern(_CLIENT_ORDER_ID, f"1-{MAX_ID} printable ASCII characters"),
    "account_id": _pattern(_ID, f"1-{MAX_ID} characters of A-Z a-z 0-9 _ . -"),
    "user_id": _pattern(_USER_ID, f"1-{MAX_USER_ID} printable ASCII characters without space"),
    "page_token": _pattern(_PAGE_TOKEN, "a next_page_token this service gave"),
}
_STRING_RULES["symbols"] = _STRING_RULES["symbol"]


def _timestamp(value: Any, where: str) -> Violation | None:
    seconds, nanos = value.seconds, value.nanos
    if (
        not 0 <= nanos < 1_000_000_000
        or seconds < 0
        or seconds * 1_000_000_000 + nanos > LATEST_NANOS
    ):
        return Violation(
            where,
            f"{where} must be from 1970-01-01T00:00:00Z to 2262-04-11T23:47:16Z "
            "(nanos 0 to 999999999)",
        )
    return None


def _unsigned(value: int, where: str) -> Violation | None:
    if value > LARGEST_ID:
        return Violation(where, f"{where} must be at most {LARGEST_ID}")
    return None


def _nested(value: Message, where: str) -> Violation | None:
    return _walk(value, f"{where}.")


def _rule(field: Any) -> Rule | None:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return _STRING_RULES.get(field.name, _text)
    if kind == FieldDescriptor.TYPE_BYTES:
        return _bytes
    if kind in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return _unsigned
    message = field.message_type
    if message is not None:
        if message.full_name == "google.protobuf.Timestamp":
            return _timestamp
        return _nested
    return None  # other numbers, enums and booleans: each service judges them


def _bytes(value: bytes, where: str) -> Violation | None:
    if len(value) > MAX_TEXT:
        return Violation(where, f"{where} must be at most {MAX_TEXT} bytes")
    return None


_SCALAR, _MESSAGE, _REPEATED = range(3)
_Plan = list[tuple[str, Rule, int]]
_PLANS: dict[type, _Plan] = {}


def _plan(cls: type[Message]) -> _Plan:
    """(field name, rule, how to read it) for the fields of ``cls`` that have
    a rule, worked out once per message type. Reading the fields by name is
    several times cheaper than ``ListFields`` (which builds a descriptor per
    set field) on every order."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = []
        for field in cls.DESCRIPTOR.fields:
            rule = _rule(field)
            if rule is None:
                continue
            if field.is_repeated:
                kind = _REPEATED
            elif field.message_type is not None:
                kind = _MESSAGE
            else:
                kind = _SCALAR
            plan.append((field.name, rule, kind))
    return plan


def _walk(message: Message, prefix: str) -> Violation | None:
    for name, rule, kind in _plan(type(message)):
        if kind == _MESSAGE:
            if not message.HasField(name):
                continue
            found = rule(getattr(message, name), prefix + name)
        else:
            value = getattr(message, name)
            if not value:  # unset, empty or zero: nothing to check
                continue
            if kind == _SCALAR:
                found = rule(value, prefix + name)
            else:
                found = _items(value, rule, prefix + name)
        if found is not None:
            return found
    return None


def _items(values: Any, rule: Rule, where: str) -> Violation | None:
    if len(values) > MAX_REPEATED:
        return Violation(where, f"{where} must have at most {MAX_REPEATED} items")
    for index, item in enumerate(values):
        found = rule(item, f"{where}[{index}]")
        if found is not None:
            return found
    return None


def violation(message: Message) -> Violation | None:
    """The first field of ``message`` that breaks an input rule, if any."""
    return _walk(message, "")


def page_number(token: str) -> int | None:
    """The number a numeric ``next_page_token`` stands for; None if ``token``
    is not one (only ASCII digits, at most ``LARGEST_ID``: ``str.isdigit``
    also takes '²' and other scripts' digits, which ``int`` then refuses)."""
    if not token.isascii() or not token.isdigit() or len(token) > 19:
        return None
    number = int(token)
    return number if number <= LARGEST_ID else None
