"""The FIX data dictionary, read from the QuickFIX XML specs in `spec/`.

Components are expanded in place, so a message or a group is a flat set of
fields plus the repeating groups it may hold, each group with its delimiter
(first field) and its fields in the order the spec gives them.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from importlib import resources

HEADER = "_header_"
TRAILER = "_trailer_"


@dataclass(frozen=True, slots=True)
class FieldDef:
    tag: int
    name: str
    type: str
    values: frozenset[str]


@dataclass(slots=True)
class Layout:
    """What a message (or a header, trailer or group entry) may contain."""

    fields: set[int] = field(default_factory=set)
    required: set[int] = field(default_factory=set)
    groups: dict[int, Group] = field(default_factory=dict)
    # Field order as the spec lists it (groups' entries are written this way).
    order: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Group:
    count_tag: int
    delimiter: int
    layout: Layout


@dataclass(slots=True)
class Dictionary:
    begin_string: str
    fields: dict[int, FieldDef]
    header: Layout
    trailer: Layout
    messages: dict[str, Layout]
    admin_types: frozenset[str]

    def layout(self, msg_type: str) -> Layout | None:
        return self.messages.get(msg_type)

    def is_admin(self, msg_type: str) -> bool:
        return msg_type in self.admin_types

    def with_field(self, definition: FieldDef, msg_types: tuple[str, ...]) -> Dictionary:
        """A copy that also knows a field of ours (user-defined tag) in these messages."""
        messages = dict(self.messages)
        for msg_type in msg_types:
            old = messages[msg_type]
            messages[msg_type] = Layout(
                old.fields | {definition.tag}, set(old.required), dict(old.groups),
                [*old.order, definition.tag],
            )  # fmt: skip
        fields = {**self.fields, definition.tag: definition}
        return replace(self, fields=fields, messages=messages)


def _parse(root: ET.Element) -> Dictionary:
    begin = f"{root.get('type', 'FIX')}.{root.get('major')}.{root.get('minor')}"
    fields: dict[int, FieldDef] = {}
    names: dict[str, int] = {}
    fields_el = root.find("fields")
    assert fields_el is not None, "spec without <fields>"
    for el in fields_el.findall("field"):
        tag = int(el.get("number", "0"))
        name = el.get("name", "")
        values = frozenset(v.get("enum", "") for v in el.findall("value"))
        fields[tag] = FieldDef(tag, name, el.get("type", "STRING"), values)
        names[name] = tag
    components = {c.get("name", ""): c for c in root.findall("components/component")}

    def fill(layout: Layout, parent: ET.Element, required_ctx: bool) -> None:
        for el in parent:
            required = required_ctx and el.get("required") == "Y"
            if el.tag == "field":
                tag = names[el.get("name", "")]
                layout.fields.add(tag)
                layout.order.append(tag)
                if required:
                    layout.required.add(tag)
            elif el.tag == "group":
                tag = names[el.get("name", "")]
                layout.fields.add(tag)
                layout.order.append(tag)
                if required:
                    layout.required.add(tag)
                inner = Layout()
                fill(inner, el, True)
                layout.groups[tag] = Group(tag, inner.order[0], inner)
            elif el.tag == "component":
                fill(layout, components[el.get("name", "")], required)

    header = Layout()
    trailer = Layout()
    header_el = root.find("header")
    trailer_el = root.find("trailer")
    assert header_el is not None, "spec without <header>"
    assert trailer_el is not None, "spec without <trailer>"
    fill(header, header_el, True)
    fill(trailer, trailer_el, True)
    messages: dict[str, Layout] = {}
    admin: set[str] = set()
    for el in root.findall("messages/message"):
        layout = Layout()
        fill(layout, el, True)
        msg_type = el.get("msgtype", "")
        messages[msg_type] = layout
        if el.get("msgcat") == "admin":
            admin.add(msg_type)
    return Dictionary(begin, fields, header, trailer, messages, frozenset(admin))


@functools.cache
def load(begin_string: str) -> Dictionary:
    """The dictionary of "FIX.4.2" or "FIX.4.4" (parsed once per process)."""
    name = begin_string.replace(".", "") + ".xml"
    spec = resources.files("server.gateways.fix").joinpath("spec", name)
    return _parse(ET.fromstring(spec.read_bytes()))


SUPPORTED = ("FIX.4.2", "FIX.4.4")
