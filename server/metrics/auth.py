"""Sign-in failures and lockouts, as the user directory records them."""

from __future__ import annotations

from prometheus_client import Counter

AUTH_FAILURES = Counter(
    "stx_auth_failures",
    "Sign-in and token failures, by reason (the auth log's event).",
    ["reason"],
)
AUTH_LOCKOUTS = Counter("stx_auth_lockouts", "Users locked out after failed sign-ins.")
FAILURE_EVENTS = frozenset({"login_failed", "login_locked", "login_disabled", "refresh_reused"})
"""The auth log's events that are failures: a wrong password, a sign-in while
locked or disabled by an administrator, a refresh token used twice."""
