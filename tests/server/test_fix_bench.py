"""``stx bench fix``: the configuration it gives the fresh server, and its verdict."""

from __future__ import annotations

from pathlib import Path

from server.bench import fix_bench
from server.config import load


def test_the_server_gets_one_session_and_account_per_initiator(tmp_path: Path) -> None:
    settings = load(fix_bench._config(tmp_path / "stx.toml", 19878, 3), environ={})
    assert settings.fix.port == 19878
    assert settings.fix.reset_on_logon
    assert [(s.target_comp_id, s.accounts) for s in settings.fix.sessions] == [
        (f"FIXLOAD{n}", (f"FIXLOAD{n}",)) for n in range(3)
    ]
    assert {s.begin_string for s in settings.fix.sessions} == {"FIX.4.4"}


def _round(fix_rate: float, fix_p99: int, grpc_p99: int) -> dict[str, object]:
    return {
        "fix": {"orders_per_sec": fix_rate, "p99_us": fix_p99},
        "grpc": {"orders_per_sec": 1.0, "p99_us": grpc_p99},
        "p99_fix_to_grpc": fix_bench._ratio({"p99_us": fix_p99}, {"p99_us": grpc_p99}),
    }


def test_the_verdict_needs_the_rate_several_sessions_and_the_p99_ratio() -> None:
    fast, slow, late = (
        _round(12_000, 3_000, 2_000),
        _round(9_000, 100, 2_000),
        _round(12_000, 5_000, 2_000),
    )
    assert fix_bench.verdict([fast], sessions=4)
    assert not fix_bench.verdict([fast], sessions=1)
    assert not fix_bench.verdict([slow], sessions=4)
    assert not fix_bench.verdict([late], sessions=4)
