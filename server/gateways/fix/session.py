"""The FIX session layer of an acceptor: one counterparty's session, without I/O.

It follows the FIX session protocol as the reference engine (QuickFIX)
implements it, so that counterparties certified against QuickFIX see the same
answers: logon and logout, heartbeats and TestRequest, gap detection with
ResendRequest (later messages queued until the gap is filled), resends from the
message store with PossDupFlag and gap fills, SequenceReset in both modes,
session-level Reject with the SessionRejectReason of the problem, SendingTime
accuracy and CompID checks. The transport feeds frames in (`on_frame`) and
calls `on_timer` about every quarter second; what goes out is written to the
`Link` bound at logon.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from server.gateways.fix import admin
from server.gateways.fix import validate as v
from server.gateways.fix.admin import parse_timestamp, utc_timestamp
from server.gateways.fix.dictionary import Dictionary
from server.gateways.fix.message import Message, ParseError, build, parse, split
from server.gateways.fix.store import MessageStore
from server.gateways.fix.tags import (
    BEGIN_SEQ_NO,
    BEGIN_STRING,
    CONDITIONALLY_REQUIRED_MISSING,
    ENCRYPT_METHOD,
    END_SEQ_NO,
    GAP_FILL,
    HEART_BT_INT,
    MSG_SEQ_NUM,
    NEW_SEQ_NO,
    ORIG_SENDING_TIME,
    POSS_DUP,
    RESET_SEQ_NUM,
    SENDER,
    SENDING_TIME,
    TARGET,
    TEST_REQ_ID,
    TEXT,
)

log = logging.getLogger(__name__)


class Link(Protocol):
    """The connection a logged-on session writes to."""

    def send(self, data: bytes) -> None: ...

    def close(self) -> None: ...


class Application(Protocol):
    """What runs on top of a session (the echo application, the order gateway)."""

    def on_logon(self, session: Session) -> None: ...

    def on_logout(self, session: Session) -> None: ...

    def from_app(self, session: Session, message: Message) -> int | None:
        """Handle an application message; a BusinessRejectReason to refuse it."""
        ...


@dataclass(frozen=True, slots=True)
class SessionID:
    begin_string: str
    sender_comp_id: str  # ours
    target_comp_id: str  # the counterparty's

    def __str__(self) -> str:
        return f"{self.begin_string}:{self.sender_comp_id}->{self.target_comp_id}"


@dataclass(frozen=True, slots=True)
class SessionSettings:
    reset_on_logon: bool = False
    # Seconds a SendingTime may differ from our clock (the reference engine's default).
    max_latency: float = 120.0
    # Seconds we wait for the answer to our Logout before closing.
    logout_timeout: float = 2.0
    # Messages ahead of a gap kept until it is filled; beyond, the session ends.
    max_queued: int = 10_000


class Session:
    """One counterparty's FIX session (acceptor side)."""

    def __init__(
        self,
        session_id: SessionID,
        dictionary: Dictionary,
        store: MessageStore,
        application: Application,
        settings: SessionSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.id = session_id
        self.dictionary = dictionary
        self.store = store
        self.application = application
        self.settings = settings
        self.clock = clock
        self.link: Link | None = None
        self.received_logon = False
        self.sent_logon = False
        self.sent_logout = False
        self.received_reset = False
        self.heart_bt_int = 0
        self.last_sent = 0.0
        self.last_received = 0.0
        self.test_requests = 0
        self.resend_range: tuple[int, int] | None = None
        self.queue: dict[int, Message] = {}

    # -- state ---------------------------------------------------------------

    @property
    def logged_on(self) -> bool:
        return self.received_logon and self.sent_logon

    def attach(self, link: Link) -> None:
        self.link = link
        now = self.clock()
        self.last_received = now
        self.last_sent = now

    def disconnect(self) -> None:
        """Close the connection and forget the logon state (sequence numbers stay)."""
        if self.link is not None:
            self.link.close()
            self.link = None
        if self.received_logon or self.sent_logon:
            self.received_logon = False
            self.sent_logon = False
            self.application.on_logout(self)
        self.sent_logout = False
        self.received_reset = False
        self.queue.clear()
        self.resend_range = None
        self.test_requests = 0

    def refuse_logon(self, text: str) -> None:
        """End a connection whose Logon is refused (sign-in): Logout with the reason."""
        self._send_logout(text)
        self.disconnect()

    # -- inbound -------------------------------------------------------------

    def on_frame(self, frame: bytes) -> None:
        """A frame from the counterparty; garbled ones are dropped (a garbled Logon ends it)."""
        try:
            message = parse(frame, self.dictionary)
        except ParseError as error:
            log.info("%s: dropped a garbled message: %s", self.id, error)
            if _msg_type_of(frame) == "A":
                self.disconnect()
            return
        self._next(message, queued=False)

    def _next(self, message: Message, *, queued: bool) -> None:
        msg_type = message.msg_type
        begin = message.header_value(BEGIN_STRING)
        missing = next((t for t in (SENDER, TARGET) if message.header_value(t) is None), None)
        if missing is not None:
            self._field_not_found(message, missing)
        elif begin != self.id.begin_string:
            if msg_type == "5":
                self._next_logout(message)
            else:
                self._send_logout("Incorrect BeginString")
                self._incr_target()
        else:
            violation = v.validate(message, self.dictionary)
            if violation is not None:
                if not self.received_logon:
                    log.info("%s: invalid message before logon: %s", self.id, violation)
                    self.disconnect()
                    return
                self._reject(message, violation.reason, violation.tag)
            else:
                self._dispatch(message, msg_type)
        if self.link is None:
            return
        if not queued:
            self._next_queued()
        if self.logged_on:
            self.on_timer()

    def _field_not_found(self, message: Message, tag: int) -> None:
        if not self.received_logon:
            self.disconnect()
            return
        if self.id.begin_string >= "FIX.4.2" and not self.dictionary.is_admin(message.msg_type):
            self._business_reject(message, CONDITIONALLY_REQUIRED_MISSING, tag)
        else:
            self._reject(message, v.REQUIRED_TAG_MISSING, tag)
            if message.msg_type == "A":
                self.disconnect()

    def _dispatch(self, message: Message, msg_type: str) -> None:
        if msg_type == "A":
            self._next_logon(message)
        elif msg_type in ("0", "3"):
            if self._verify(message):
                self._incr_target()
        elif msg_type == "1":
            if self._verify(message):
                self._send_heartbeat(message.value(TEST_REQ_ID))
                self._incr_target()
        elif msg_type == "4":
            self._next_sequence_reset(message)
        elif msg_type == "5":
            self._next_logout(message)
        elif msg_type == "2":
            self._next_resend_request(message)
        else:
            if not self._verify(message):
                return
            refusal = self.application.from_app(self, message)
            if refusal is None:
                self._incr_target()
            else:
                self._business_reject(message, refusal, None)

    def _next_logon(self, logon: Message) -> None:
        reset = logon.value(RESET_SEQ_NUM) == "Y"
        self.received_reset = reset
        if reset or self.settings.reset_on_logon:
            self.store.reset()
        if not self._verify(logon, check_high=False, check_low=True):
            return
        self.received_logon = True
        heart_bt_int = logon.value(HEART_BT_INT)
        self.heart_bt_int = int(heart_bt_int) if heart_bt_int else 0
        answer = admin.new("A")
        answer.set(ENCRYPT_METHOD, "0")
        if self.received_reset:
            answer.set(RESET_SEQ_NUM, "Y")
        answer.set(HEART_BT_INT, heart_bt_int or "0")
        self._send_raw(answer)
        self.sent_logon = True
        self.received_reset = False
        seq = _seq(logon)
        if seq > self.store.next_target and not reset:
            self._target_too_high(logon)
        else:
            self._incr_target()
            self._next_queued()
        if self.logged_on:
            self.application.on_logon(self)

    def _next_logout(self, logout: Message) -> None:
        if not self._verify(logout, check_high=False, check_low=False):
            return
        if not self.sent_logout:
            self._send_logout(None)
        self._incr_target()
        self.disconnect()

    def _next_sequence_reset(self, message: Message) -> None:
        gap_fill = message.value(GAP_FILL) == "Y"
        if not self._verify(message, check_high=gap_fill, check_low=gap_fill):
            return
        new_seq = message.value(NEW_SEQ_NO)
        if new_seq is None:
            return
        if int(new_seq) > self.store.next_target:
            self.store.set_next_target(int(new_seq))
        elif int(new_seq) < self.store.next_target:
            self._reject(message, v.VALUE_INCORRECT, None)

    def _next_resend_request(self, request: Message) -> None:
        if not self._verify(request, check_high=False, check_low=False):
            return
        begin = int(request.value(BEGIN_SEQ_NO) or "0")
        end = int(request.value(END_SEQ_NO) or "0")
        next_sender = self.store.next_sender
        if (
            (self.id.begin_string >= "FIX.4.2" and end == 0)
            or (self.id.begin_string <= "FIX.4.2" and end == 999999)
            or end >= next_sender
        ):
            end = next_sender - 1
        gap_start = 0
        current = begin
        seq = 0
        just_sent = False
        for raw in self.store.sent(begin, end):
            just_sent = False
            stored = build(split(raw, self.dictionary), self.dictionary)
            seq = _seq(stored)
            if current != seq and not gap_start:
                gap_start = current
            if self.dictionary.is_admin(stored.msg_type):
                if not gap_start:
                    gap_start = seq
            else:
                if gap_start:
                    self._send_gap_fill(gap_start, seq)
                self._resend(stored)
                gap_start = 0
                just_sent = True
            current = seq + 1
        if gap_start:
            self._send_gap_fill(gap_start, seq + 1)
        if end > seq:
            new_seq = min(end + 1, self.store.next_sender)
            self._send_gap_fill(seq + 1 if just_sent else begin, new_seq)
        own = _seq(request)
        if own == self.store.next_target:
            self._incr_target()

    def _verify(self, message: Message, *, check_high: bool = True, check_low: bool = True) -> bool:
        """The checks every message passes: logon state, SendingTime, CompIDs, sequence."""
        msg_type = message.msg_type
        if not self._valid_logon_state(msg_type):
            log.info("%s: %s not valid in this logon state", self.id, msg_type)
            self.disconnect()
            return False
        sending_time = parse_timestamp(message.header_value(SENDING_TIME) or "")
        if sending_time is None or abs(self.clock() - sending_time) > self.settings.max_latency:
            return self._refuse_and_logout(message, v.SENDING_TIME_ACCURACY)
        if (
            message.header_value(SENDER) != self.id.target_comp_id
            or message.header_value(TARGET) != self.id.sender_comp_id
        ):
            return self._refuse_and_logout(message, v.COMPID_PROBLEM)
        seq = _seq(message)
        if check_high and seq > self.store.next_target:
            self._target_too_high(message)
            return False
        if check_low and seq < self.store.next_target:
            self._target_too_low(message)
            return False
        if (
            (check_high or check_low)
            and self.resend_range is not None
            and seq >= self.resend_range[1]
        ):
            # The gap we asked to be filled is filled.
            self.resend_range = None
        self.last_received = self.clock()
        self.test_requests = 0
        return True

    def _refuse_and_logout(self, message: Message, reason: int) -> bool:
        if not self.received_logon:
            # No reject before logon: the connection just ends.
            self.disconnect()
            return False
        self._reject(message, reason, None)
        self._send_logout(None)
        return False

    def _valid_logon_state(self, msg_type: str) -> bool:
        if self.received_reset:
            return True
        if (msg_type == "A") != self.received_logon:
            return True
        if msg_type == "5" and self.sent_logon:
            return True
        if msg_type != "5" and self.sent_logout:
            return True
        return msg_type in ("4", "3")

    def _target_too_high(self, message: Message) -> None:
        seq = _seq(message)
        if len(self.queue) >= self.settings.max_queued and seq not in self.queue:
            self._send_logout(f"More than {self.settings.max_queued} messages beyond a gap")
            self.disconnect()
            return
        self.queue[seq] = message
        if self.resend_range is not None and seq >= self.resend_range[0]:
            return
        request = admin.new("2")
        request.set(BEGIN_SEQ_NO, str(self.store.next_target))
        request.set(END_SEQ_NO, "0" if self.id.begin_string >= "FIX.4.2" else "999999")
        self._send_raw(request)
        self.resend_range = (self.store.next_target, seq - 1)

    def _target_too_low(self, message: Message) -> None:
        if message.header_value(POSS_DUP) != "Y":
            text = (
                f"MsgSeqNum too low, expecting {self.store.next_target} "
                f"but received {_seq(message)}"
            )
            self._send_logout(text)
            self.disconnect()
            return
        if message.msg_type == "4":
            return
        original = message.header_value(ORIG_SENDING_TIME)
        if original is None:
            self._reject(message, v.REQUIRED_TAG_MISSING, ORIG_SENDING_TIME)
            return
        sent_at = parse_timestamp(message.header_value(SENDING_TIME) or "")
        original_at = parse_timestamp(original)
        if original_at is None or sent_at is None or original_at > sent_at:
            self._reject(message, v.SENDING_TIME_ACCURACY, None)
            self._send_logout(None)

    def _next_queued(self) -> None:
        while self.link is not None:
            message = self.queue.pop(self.store.next_target, None)
            if message is None:
                return
            if message.msg_type in ("A", "2"):
                self._incr_target()
            else:
                self._next(message, queued=True)

    def _incr_target(self) -> None:
        self.store.set_next_target(self.store.next_target + 1)

    # -- timers --------------------------------------------------------------

    def on_timer(self) -> None:
        """Heartbeats, TestRequests and timeouts; called periodically and after each message."""
        if self.link is None or not self.received_logon or self.heart_bt_int == 0:
            return
        now = self.clock()
        if self.sent_logout and now - self.last_sent >= self.settings.logout_timeout:
            log.info("%s: timed out waiting for the logout answer", self.id)
            self.disconnect()
            return
        since_sent = now - self.last_sent
        since_received = now - self.last_received
        if since_sent < self.heart_bt_int and since_received < self.heart_bt_int:
            return
        if since_received >= 2.4 * self.heart_bt_int:
            log.info("%s: timed out waiting for a heartbeat", self.id)
            self.disconnect()
        elif since_received >= 1.2 * (self.test_requests + 1) * self.heart_bt_int:
            request = admin.new("1")
            request.set(TEST_REQ_ID, "TEST")
            self._send_raw(request)
            self.test_requests += 1
        elif since_sent >= self.heart_bt_int and self.test_requests == 0:
            self._send_heartbeat(None)

    # -- outbound ------------------------------------------------------------

    def send(self, message: Message) -> None:
        """Send an application message (a new one: PossDup fields are dropped)."""
        message.remove_header(POSS_DUP)
        message.remove_header(ORIG_SENDING_TIME)
        self._send_raw(message)

    def _fill(self, message: Message, seq: int) -> None:
        now = self.clock()
        self.last_sent = now
        message.set_header(BEGIN_STRING, self.id.begin_string)
        message.set_header(SENDER, self.id.sender_comp_id)
        message.set_header(TARGET, self.id.target_comp_id)
        message.set_header(MSG_SEQ_NUM, str(seq))
        message.set_header(SENDING_TIME, utc_timestamp(now))

    def _send_raw(self, message: Message, seq: int | None = None) -> None:
        """Number, stamp, keep (unless it is a gap fill) and write a message."""
        self._fill(message, seq if seq is not None else self.store.next_sender)
        raw = message.to_bytes()
        msg_type = message.msg_type
        if self.link is not None and (msg_type in ("A", "5", "2", "4") or self.logged_on):
            self.link.send(raw)
        if seq is None:
            self.store.save_sent(self.store.next_sender, raw)

    def _resend(self, stored: Message) -> None:
        original = stored.header_value(SENDING_TIME)
        if original is not None:
            stored.set_header(ORIG_SENDING_TIME, original)
        stored.set_header(POSS_DUP, "Y")
        now = self.clock()
        stored.set_header(SENDING_TIME, utc_timestamp(now))
        self.last_sent = now
        if self.link is not None:
            self.link.send(stored.to_bytes())

    def _send_gap_fill(self, begin: int, new_seq: int) -> None:
        fill = admin.new("4")
        fill.set_header(POSS_DUP, "Y")
        fill.set(NEW_SEQ_NO, str(new_seq))
        fill.set(GAP_FILL, "Y")
        self._fill(fill, begin)
        fill.set_header(ORIG_SENDING_TIME, fill.header_value(SENDING_TIME) or "")
        self._send_raw(fill, begin)

    def _send_heartbeat(self, test_req_id: str | None) -> None:
        heartbeat = admin.new("0")
        if test_req_id is not None:
            heartbeat.set(TEST_REQ_ID, test_req_id)
        self._send_raw(heartbeat)

    def _send_logout(self, text: str | None) -> None:
        logout = admin.new("5")
        if text:
            logout.set(TEXT, text)
        self._send_raw(logout)
        self.sent_logout = True

    def _reject(self, message: Message, reason: int, tag: int | None) -> None:
        """A session-level Reject (3); it counts as processing the message if it was next."""
        seq_text = message.header_value(MSG_SEQ_NUM)
        if (
            message.msg_type not in ("A", "4")
            and seq_text
            and _int(seq_text) == self.store.next_target
        ):
            self._incr_target()
        self._send_raw(admin.reject(message, reason, tag, self.id.begin_string))

    def _business_reject(self, message: Message, reason: int, tag: int | None) -> None:
        self._incr_target()
        self._send_raw(admin.business_reject(message, reason, tag))


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1


def _seq(message: Message) -> int:
    return _int(message.header_value(MSG_SEQ_NUM) or "")


def _msg_type_of(frame: bytes) -> str | None:
    at = frame.find(b"\x0135=")
    if at < 0:
        return None
    end = frame.find(b"\x01", at + 4)
    return frame[at + 4 : end].decode("latin-1") if end > 0 else None
