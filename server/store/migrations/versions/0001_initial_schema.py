"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 05:27:19.224609
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("first_sequence", sa.BigInteger(), nullable=False),
        sa.Column("first_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_table(
        "audit_log",
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("sequence"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("audit_by_account", ["account_id", "sequence"], unique=False)

    op.create_table(
        "bars",
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("interval", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("start_time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("open_price", sa.BigInteger(), nullable=False),
        sa.Column("high_price", sa.BigInteger(), nullable=False),
        sa.Column("low_price", sa.BigInteger(), nullable=False),
        sa.Column("close_price", sa.BigInteger(), nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("notional", sa.Text(), nullable=False),
        sa.Column("trade_count", sa.BigInteger(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "interval", "start_time"),
    )
    op.create_table(
        "executions",
        sa.Column("trade_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("side", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("liquidity", sa.Integer(), nullable=False),
        sa.Column("report_sequence", sa.BigInteger(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("transact_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("trade_id", "side"),
    )
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.create_index("executions_by_account", ["account_id", "trade_id"], unique=False)
        batch_op.create_index("executions_by_order", ["order_id"], unique=False)

    op.create_table(
        "instruments",
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("tick_size", sa.BigInteger(), nullable=False),
        sa.Column("lot_size", sa.BigInteger(), nullable=False),
        sa.Column("max_order_quantity", sa.BigInteger(), nullable=False),
        sa.Column("price_band_bps", sa.Integer(), nullable=False),
        sa.Column("reference_price", sa.BigInteger(), nullable=False),
        sa.Column("trading_phase", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("symbol"),
    )
    op.create_table(
        "order_events",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("report_sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("exec_type", sa.Integer(), nullable=False),
        sa.Column("order_status", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.Integer(), nullable=False),
        sa.Column("order_type", sa.Integer(), nullable=False),
        sa.Column("time_in_force", sa.Integer(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("stop_price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("leaves_quantity", sa.BigInteger(), nullable=False),
        sa.Column("cum_quantity", sa.BigInteger(), nullable=False),
        sa.Column("avg_price", sa.BigInteger(), nullable=False),
        sa.Column("last_price", sa.BigInteger(), nullable=False),
        sa.Column("last_quantity", sa.BigInteger(), nullable=False),
        sa.Column("trade_id", sa.BigInteger(), nullable=False),
        sa.Column("liquidity", sa.Integer(), nullable=False),
        sa.Column("reject_reason", sa.Integer(), nullable=False),
        sa.Column("cancel_reason", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("transact_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "report_sequence"),
    )
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.create_index("order_events_by_order", ["order_id"], unique=False)
        batch_op.create_index("order_events_by_sequence", ["sequence"], unique=False)

    op.create_table(
        "orders",
        sa.Column("order_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("side", sa.Integer(), nullable=False),
        sa.Column("order_type", sa.Integer(), nullable=False),
        sa.Column("time_in_force", sa.Integer(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("stop_price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("display_quantity", sa.BigInteger(), nullable=False),
        sa.Column("post_only", sa.Boolean(), nullable=False),
        sa.Column("self_trade_prevention", sa.Integer(), nullable=False),
        sa.Column("expire_time", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("leaves_quantity", sa.BigInteger(), nullable=False),
        sa.Column("cum_quantity", sa.BigInteger(), nullable=False),
        sa.Column("avg_price", sa.BigInteger(), nullable=False),
        sa.Column("reject_reason", sa.Integer(), nullable=False),
        sa.Column("cancel_reason", sa.Integer(), nullable=False),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        sa.Column("update_time", sa.BigInteger(), nullable=False),
        sa.Column("last_report_sequence", sa.BigInteger(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("orders_by_account", ["account_id", "order_id"], unique=False)
        batch_op.create_index(
            "orders_by_client_id", ["account_id", "client_order_id"], unique=False
        )

    op.create_table(
        "projection",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.Column("updated_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "trades",
        sa.Column("trade_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("aggressor_side", sa.Integer(), nullable=False),
        sa.Column("buy_order_id", sa.BigInteger(), nullable=False),
        sa.Column("sell_order_id", sa.BigInteger(), nullable=False),
        sa.Column("buy_account_id", sa.String(length=64), nullable=False),
        sa.Column("sell_account_id", sa.String(length=64), nullable=False),
        sa.Column("channel_sequence", sa.BigInteger(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("trade_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("trade_id"),
    )
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.create_index("trades_by_symbol", ["symbol", "trade_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.drop_index("trades_by_symbol")

    op.drop_table("trades")
    op.drop_table("projection")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("orders_by_client_id")
        batch_op.drop_index("orders_by_account")

    op.drop_table("orders")
    with op.batch_alter_table("order_events", schema=None) as batch_op:
        batch_op.drop_index("order_events_by_sequence")
        batch_op.drop_index("order_events_by_order")

    op.drop_table("order_events")
    op.drop_table("instruments")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index("executions_by_order")
        batch_op.drop_index("executions_by_account")

    op.drop_table("executions")
    op.drop_table("bars")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("audit_by_account")

    op.drop_table("audit_log")
    op.drop_table("accounts")
