"""The store's tables.

Prices, quantities and money are fixed-point integers as everywhere inside;
times are integer nanoseconds since the epoch (UTC), exactly as the journal
has them. Every row written by the projector carries the engine sequence of
the command that caused it, which is what makes projection idempotent: the
``projection`` row holds the last sequence written, in the same transaction
as the rows.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()


def _big(name: str, **options: object) -> Column[int]:
    return Column(name, BigInteger, nullable=False, **options)  # type: ignore[arg-type]


projection = Table(
    "projection",
    metadata,
    Column("name", String(32), primary_key=True),
    _big("last_sequence"),
    _big("updated_time"),
)

instruments = Table(
    "instruments",
    metadata,
    Column("symbol", String(32), primary_key=True),
    _big("tick_size"),
    _big("lot_size"),
    _big("max_order_quantity"),
    Column("price_band_bps", Integer, nullable=False),
    _big("reference_price"),
    Column("trading_phase", Integer, nullable=False),
    _big("sequence"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String(64), primary_key=True),
    _big("first_sequence"),
    _big("first_time"),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", BigInteger, primary_key=True, autoincrement=False),
    Column("client_order_id", String(64), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", Integer, nullable=False),
    Column("order_type", Integer, nullable=False),
    Column("time_in_force", Integer, nullable=False),
    _big("price"),
    _big("stop_price"),
    _big("quantity"),
    _big("display_quantity"),
    Column("post_only", Boolean, nullable=False),
    Column("self_trade_prevention", Integer, nullable=False),
    _big("expire_time"),
    Column("status", Integer, nullable=False),
    _big("leaves_quantity"),
    _big("cum_quantity"),
    _big("avg_price"),
    Column("reject_reason", Integer, nullable=False),
    Column("cancel_reason", Integer, nullable=False),
    _big("create_time"),
    _big("update_time"),
    _big("last_report_sequence"),
    _big("sequence"),
    Index("orders_by_account", "account_id", "order_id"),
    Index("orders_by_client_id", "account_id", "client_order_id"),
)

order_events = Table(
    "order_events",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("report_sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("exec_type", Integer, nullable=False),
    Column("order_status", Integer, nullable=False),
    _big("order_id"),
    Column("client_order_id", String(64), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", Integer, nullable=False),
    Column("order_type", Integer, nullable=False),
    Column("time_in_force", Integer, nullable=False),
    _big("price"),
    _big("stop_price"),
    _big("quantity"),
    _big("leaves_quantity"),
    _big("cum_quantity"),
    _big("avg_price"),
    _big("last_price"),
    _big("last_quantity"),
    _big("trade_id"),
    Column("liquidity", Integer, nullable=False),
    Column("reject_reason", Integer, nullable=False),
    Column("cancel_reason", Integer, nullable=False),
    _big("sequence"),
    _big("transact_time"),
    # The client's id of the cancel or replace request a report answers.
    Column("client_request_id", String(64), nullable=False, server_default=""),
    Index("order_events_by_order", "order_id"),
    Index("order_events_by_sequence", "sequence"),
)
"""Every execution report: each change of each order's state."""

executions = Table(
    "executions",
    metadata,
    Column("trade_id", BigInteger, primary_key=True, autoincrement=False),
    Column("side", Integer, primary_key=True, autoincrement=False),
    _big("order_id"),
    Column("account_id", String(64), nullable=False),
    Column("symbol", String(32), nullable=False),
    _big("price"),
    _big("quantity"),
    Column("liquidity", Integer, nullable=False),
    _big("report_sequence"),
    _big("sequence"),
    _big("transact_time"),
    Index("executions_by_account", "account_id", "trade_id"),
    Index("executions_by_order", "order_id"),
)
"""One fill of one order: a trade has a buy and a sell execution."""

trades = Table(
    "trades",
    metadata,
    Column("trade_id", BigInteger, primary_key=True, autoincrement=False),
    Column("symbol", String(32), nullable=False),
    _big("price"),
    _big("quantity"),
    Column("aggressor_side", Integer, nullable=False),
    _big("buy_order_id"),
    _big("sell_order_id"),
    Column("buy_account_id", String(64), nullable=False),
    Column("sell_account_id", String(64), nullable=False),
    _big("channel_sequence"),
    _big("sequence"),
    _big("trade_time"),
    Index("trades_by_symbol", "symbol", "trade_id"),
)

bars = Table(
    "bars",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("interval", Integer, primary_key=True, autoincrement=False),
    Column("start_time", BigInteger, primary_key=True, autoincrement=False),
    _big("open_price"),
    _big("high_price"),
    _big("low_price"),
    _big("close_price"),
    _big("volume"),
    # Sum of price x quantity, as decimal text: over a day it outgrows 64 bits.
    Column("notional", Text, nullable=False),
    _big("trade_count"),
    _big("sequence"),
)
"""OHLCV bars by symbol, interval (the contract's BarInterval) and start."""

audit_log = Table(
    "audit_log",
    metadata,
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    _big("time"),
    Column("account_id", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    # The client's id journaled with the command: a new order's client order
    # id, a cancel's or replace's client request id.
    Column("client_order_id", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("user_id", String(64), nullable=False, server_default=""),
    Column("source", String(64), nullable=False, server_default=""),
    Column("gateway", String(16), nullable=False, server_default=""),
    Column("previous_hash", String(64), nullable=False, server_default=""),
    Column("hash", String(64), nullable=False, server_default=""),
    Index("audit_by_account", "account_id", "sequence"),
)
"""Every journaled command: who sent it (user, address, gateway), what it was,
and when; each entry carries the hash of the one before (``server/audit.py``)."""

users = Table(
    "users",
    metadata,
    Column("user_id", String(32), primary_key=True),
    Column("username", String(32), nullable=False, unique=True),
    # The e-mail address, sealed with AES-256-GCM (``field_crypto``), and its
    # blind index (HMAC-SHA-256, hex) that keeps addresses unique.
    Column("email_ciphertext", LargeBinary, nullable=False),
    Column("email_index", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    # Role numbers of the contract, comma-separated.
    Column("roles", String(64), nullable=False),
    _big("create_time"),
    # When an administrator disabled the user; 0 while enabled.
    _big("disable_time", server_default="0"),
)

account_owners = Table(
    "account_owners",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("user_id", String(32), nullable=False),
    Index("account_owners_by_user", "user_id"),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    # SHA-256 of the token: the token itself is never stored.
    Column("token_hash", String(64), primary_key=True),
    Column("family_id", String(32), nullable=False),
    Column("user_id", String(32), nullable=False),
    _big("expire_time"),
    _big("used_time"),
    Column("revoked", Boolean, nullable=False),
    Index("refresh_tokens_by_family", "family_id"),
)
"""Rotating refresh tokens: each use spends one and issues the next of its
family; a spent one presented again revokes the family."""

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("user_id", String(32), nullable=False),
    Column("label", String(128), nullable=False),
    Column("roles", String(64), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    _big("create_time"),
    _big("expire_time"),
    _big("last_use_time"),
    _big("revoke_time"),
    Index("api_keys_by_user", "user_id", "create_time"),
)

auth_log = Table(
    "auth_log",
    metadata,
    Column("entry_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    _big("time"),
    Column("event", String(32), nullable=False),
    # Room for any user id the gateway admits (OIDC ones are long; migration 0009).
    Column("user_id", String(260), nullable=False),
    Column("username", String(260), nullable=False),
    Column("source", String(64), nullable=False),
    Column("gateway", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("previous_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
"""Every authentication event, hash-chained like the audit log."""

alerts = Table(
    "alerts",
    metadata,
    Column("alert_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    # SHA-256 of everything else: replaying the journal raises the same
    # alerts again, and storing them again must not duplicate them.
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("kind", Integer, nullable=False),
    Column("severity", Integer, nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("description", Text, nullable=False),
    # The evidence: JSON arrays of ids, and a JSON object of measurements.
    Column("order_ids", Text, nullable=False),
    Column("trade_ids", Text, nullable=False),
    Column("details", Text, nullable=False),
    _big("start_time"),
    _big("end_time"),
    _big("create_time"),
    Column("creator_user_id", String(260), nullable=False),
    # Where the alert stands in review (the contract's AlertStatus, 1 = OPEN)
    # and its last review: what ListAlerts shows and filters on. The history
    # is ``alert_reviews``; ``review_count`` is its length, and every review
    # moves it by one only if no other review came first.
    Column("status", Integer, nullable=False, server_default="1"),
    # Room for any user id the gateway admits (OIDC ones are long).
    Column("reviewer_user_id", String(260), nullable=False, server_default=""),
    _big("review_time", server_default="0"),
    Column("review_note", Text, nullable=False, server_default=""),
    Column("review_count", Integer, nullable=False, server_default="0"),
    Index("alerts_by_time", "create_time", "alert_id"),
    Index("alerts_by_account", "account_id", "create_time", "alert_id"),
    Index("alerts_by_symbol", "symbol", "create_time", "alert_id"),
    Index("alerts_by_status", "status", "create_time", "alert_id"),
)
"""Surveillance alerts, automatic and manual, listed newest first by
``(create_time, alert_id)``."""

alert_reviews = Table(
    "alert_reviews",
    metadata,
    Column("review_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    _big("alert_id"),
    Column("from_status", Integer, nullable=False),
    Column("to_status", Integer, nullable=False),
    Column("reviewer_user_id", String(260), nullable=False),
    _big("review_time"),
    Column("note", Text, nullable=False),
    Index("alert_reviews_by_alert", "alert_id", "review_id"),
)
"""Every review of every alert, never updated: the trail a compliance officer
reads (each is also in the hash-chained ``auth_log``)."""
