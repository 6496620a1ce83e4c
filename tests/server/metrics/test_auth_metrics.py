"""``stx_auth_failures_total`` and ``stx_auth_lockouts_total`` from the user directory."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY

from server.auth.directory import UserDirectory
from server.errors import Refusal
from tests.server.auth.test_directory import PASSWORD, _refused, _run


def _value(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_failed_sign_ins_and_the_lockout_they_cause_are_counted(tmp_path: Path) -> None:
    async def scenario(directory: UserDirectory) -> None:
        failed = _value("stx_auth_failures_total", {"reason": "login_failed"})
        locked = _value("stx_auth_failures_total", {"reason": "login_locked"})
        lockouts = _value("stx_auth_lockouts_total")
        await directory.register("carol", "carol@example.com", PASSWORD)
        for attempt in range(5):
            await _refused(
                Refusal.UNAUTHENTICATED, directory.login("carol", f"guess {attempt}", "10.0.0.1")
            )
        await _refused(Refusal.THROTTLED, directory.login("carol", PASSWORD, "10.0.0.1"))
        assert _value("stx_auth_failures_total", {"reason": "login_failed"}) == failed + 5
        assert _value("stx_auth_failures_total", {"reason": "login_locked"}) == locked + 1
        assert _value("stx_auth_lockouts_total") == lockouts + 1

    _run(f"sqlite:///{tmp_path / 'stx.db'}", tmp_path, scenario)
