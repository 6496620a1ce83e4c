"""The [fix] section: sessions, port, ResetOnLogon, and clear errors for bad input."""

from __future__ import annotations

import pytest

from server.config import ConfigError, from_mapping
from server.fix_config import DEFAULT_PORT, FixSessionSettings


def test_sessions_are_read_with_their_defaults() -> None:
    settings = from_mapping(
        {"fix": {"sessions": [{"target_comp_id": "ACME", "accounts": ["acme-1", "acme-2"]}]}}
    )
    assert settings.fix.port == DEFAULT_PORT
    assert not settings.fix.reset_on_logon
    assert settings.fix.sessions == (
        FixSessionSettings("FIX.4.4", "STX", "ACME", ("acme-1", "acme-2")),
    )


def test_a_session_with_sign_in_may_leave_its_accounts_to_the_user() -> None:
    settings = from_mapping({"fix": {"sessions": [{"target_comp_id": "A", "username": "acme"}]}})
    assert settings.fix.sessions == (FixSessionSettings("FIX.4.4", "STX", "A", (), "acme"),)


def test_no_section_means_no_sessions() -> None:
    assert from_mapping({}).fix.sessions == ()


@pytest.mark.parametrize(
    ("fix", "words"),
    [
        ({"port": "9878"}, "fix.port"),
        ({"reset_on_logon": "yes"}, "fix.reset_on_logon"),
        ({"colour": 1}, "unknown keys"),
        ({"sessions": [{"target_comp_id": "A"}]}, "username"),
        ({"sessions": [{"target_comp_id": "A", "username": 7}]}, "username"),
        ({"sessions": [{"target_comp_id": "A", "accounts": [""], "begin_string": "FIX.4.4"}]},
         "accounts"),
        ({"sessions": [{"target_comp_id": "A", "accounts": ["a"], "begin_string": "FIX.5.0"}]},
         "begin_string"),
        ({"sessions": [{"accounts": ["a"]}]}, "target_comp_id"),
        ({"sessions": [{"target_comp_id": "A", "accounts": ["a"]}] * 2}, "same identity"),
    ],
)  # fmt: skip
def test_bad_settings_are_refused_with_the_key(fix: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        from_mapping({"fix": fix})
