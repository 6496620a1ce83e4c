"""Alerts in the store: stored once with ids, listed newest first, filtered and
paged by key, on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from server.consumers.surveillance import Alert, AlertKind, AlertSeverity
from server.store import open_store, schema
from server.store.database import AlertPage, Store

SECOND = 1_000_000_000


def _alert(
    number: int,
    *,
    kind: AlertKind = AlertKind.SPOOFING,
    severity: AlertSeverity = AlertSeverity.HIGH,
    account: str = "ACC",
    symbol: str = "AAPL",
    create_time: int | None = None,
) -> Alert:
    return Alert(
        kind=kind,
        severity=severity,
        account=account,
        symbol=symbol,
        description=f"alert {number}: 3 large orders cancelled",
        order_ids=(number, number + 1, 2**63 - 1),
        trade_ids=(number * 10,),
        start_time=number * SECOND,
        end_time=number * SECOND + 5,
        details=(("count", "3"), ("ratio", str(number))),
        create_time=create_time if create_time is not None else number * SECOND + 10,
    )


def _run(store_url: str, scenario: Callable[[Store], Awaitable[None]]) -> None:
    async def main() -> None:
        store = await open_store(store_url)
        try:
            await scenario(store)
        finally:
            await store.close()

    asyncio.run(main())


def test_alerts_come_back_exactly_with_their_ids(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        manual = Alert(
            kind=AlertKind.MANUAL,
            severity=AlertSeverity.CRITICAL,
            account="",
            symbol="",
            description="Suspicious news-driven trading — «check»",
            order_ids=(),
            trade_ids=(),
            start_time=0,
            end_time=0,
            details=(),
            create_time=5 * SECOND,
            creator_user_id="u-officer",
        )
        stored = await store.add_alerts([_alert(1), manual])
        assert [alert.alert_id for alert in stored] != ["", ""]
        assert len({alert.alert_id for alert in stored}) == 2
        page = await store.list_alerts()
        assert page == AlertPage([stored[1], stored[0]], None)  # newest first
        assert page.alerts[1].details == (("count", "3"), ("ratio", "1"))
        assert page.alerts[1].order_ids == (1, 2, 2**63 - 1)
        assert page.alerts[0].kind is AlertKind.MANUAL
        assert page.alerts[0].severity is AlertSeverity.CRITICAL
        assert await store.add_alerts([]) == []

    _run(store_url, scenario)


def test_storing_the_same_alert_again_keeps_one(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        first = await store.add_alerts([_alert(1), _alert(2)])
        # A journal replay raises the same alerts, next to a new one.
        again = await store.add_alerts([_alert(2), _alert(3), _alert(1)])
        assert [again[0], again[2]] == [first[1], first[0]]
        assert again[1].alert_id not in {alert.alert_id for alert in first}
        assert await store.count(schema.alerts) == 3

    _run(store_url, scenario)


def test_filters_select_by_account_symbol_kind_severity_and_time(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        alerts = [
            _alert(1, account="A", kind=AlertKind.WASH_TRADE, severity=AlertSeverity.MEDIUM),
            _alert(2, account="B", symbol="MSFT", kind=AlertKind.LAYERING),
            _alert(3, account="A", symbol="MSFT", severity=AlertSeverity.LOW),
            _alert(4, account="", kind=AlertKind.ABNORMAL_PRICE_MOVE),
        ]
        await store.add_alerts(alerts)

        def numbers(page: AlertPage) -> list[str]:
            return [dict(alert.details)["ratio"] for alert in page.alerts]

        assert numbers(await store.list_alerts()) == ["4", "3", "2", "1"]
        assert numbers(await store.list_alerts(account="A")) == ["3", "1"]
        assert numbers(await store.list_alerts(symbol="MSFT")) == ["3", "2"]
        assert numbers(await store.list_alerts("A", "MSFT")) == ["3"]
        kinds = (AlertKind.WASH_TRADE, AlertKind.LAYERING)
        assert numbers(await store.list_alerts(kinds=kinds)) == ["2", "1"]
        medium = await store.list_alerts(min_severity=AlertSeverity.MEDIUM)
        assert numbers(medium) == ["4", "2", "1"]
        assert numbers(await store.list_alerts(min_severity=AlertSeverity.HIGH)) == ["4", "2"]
        # Raised in [start, end): alert n was raised at n seconds + 10 ns.
        window = await store.list_alerts(start_time=2 * SECOND + 10, end_time=4 * SECOND + 10)
        assert numbers(window) == ["3", "2"]
        assert numbers(await store.list_alerts(start_time=5 * SECOND)) == []

    _run(store_url, scenario)


def test_pages_run_newest_first_without_gaps_or_repeats(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        # Ten alerts, several raised at the same time: ties are broken by id.
        stored = await store.add_alerts(
            [_alert(number, create_time=(number // 3) * SECOND) for number in range(10)]
        )
        newest_first = sorted(stored, key=lambda alert: (alert.create_time, int(alert.alert_id)))
        newest_first.reverse()
        seen: list[Alert] = []
        page = await store.list_alerts(limit=4)
        while True:
            seen += page.alerts
            if page.next_before is None:
                break
            assert page.next_before == (page.alerts[-1].create_time, page.alerts[-1].alert_id)
            # Alerts stored meanwhile are newer: they do not shift the pages.
            await store.add_alerts([_alert(100 + len(seen), create_time=99 * SECOND)])
            page = await store.list_alerts(limit=4, before=page.next_before)
        assert seen == newest_first
        assert [len(chunk) for chunk in (seen[:4], seen[4:8], seen[8:])] == [4, 4, 2]
        total = await store.count(schema.alerts)
        assert (await store.list_alerts(limit=total)).next_before is None
        assert (await store.list_alerts(limit=total - 1)).next_before is not None
        with pytest.raises(ValueError, match="limit"):
            await store.list_alerts(limit=0)

    _run(store_url, scenario)
