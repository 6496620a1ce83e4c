"""Secrets from the environment or files, and URLs without their passwords."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from server.config import ConfigError, from_mapping, load
from server.hsm.key_source import open_key_ring
from server.hsm.token import HsmError
from server.secret_values import SecretError, database_url, read_secret, redact_url


def test_a_secret_comes_from_the_variable_or_the_file(tmp_path: Path) -> None:
    assert read_secret("PKCS11_PIN", {}) is None
    assert read_secret("PKCS11_PIN", {"STX_PKCS11_PIN": "1234"}) == "1234"
    secret = tmp_path / "pin"
    secret.write_text("5678\n")
    assert read_secret("PKCS11_PIN", {"STX_PKCS11_PIN_FILE": str(secret)}) == "5678"
    secret.write_text("with spaces inside  \r\n")
    assert read_secret("PKCS11_PIN", {"STX_PKCS11_PIN_FILE": str(secret)}) == "with spaces inside  "


def test_a_secret_set_wrongly_is_an_error_that_does_not_show_it(tmp_path: Path) -> None:
    both = {"STX_PKCS11_PIN": "1234", "STX_PKCS11_PIN_FILE": str(tmp_path / "pin")}
    with pytest.raises(SecretError, match="not both"):
        read_secret("PKCS11_PIN", both)
    with pytest.raises(SecretError, match="STX_PKCS11_PIN is empty"):
        read_secret("PKCS11_PIN", {"STX_PKCS11_PIN": ""})
    with pytest.raises(SecretError, match="cannot read") as missing:
        read_secret("PKCS11_PIN", {"STX_PKCS11_PIN_FILE": str(tmp_path / "absent")})
    assert "absent" in str(missing.value)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SecretError, match="is empty"):
        read_secret("PKCS11_PIN", {"STX_PKCS11_PIN_FILE": str(tmp_path / "empty")})


def test_the_database_password_is_merged_in_only_to_connect(tmp_path: Path) -> None:
    url = "postgresql://stx@db:5432/stx"
    assert database_url(url, {}) == url
    merged = database_url(url, {"STX_DATABASE_PASSWORD": "p@ss:word/1"})
    assert merged == "postgresql://stx:p%40ss%3Aword%2F1@db:5432/stx"
    secret = tmp_path / "password"
    secret.write_text("from-a-file\n")
    assert database_url(url, {"STX_DATABASE_PASSWORD_FILE": str(secret)}) == (
        "postgresql://stx:from-a-file@db:5432/stx"
    )
    with pytest.raises(SecretError, match="sqlite") as refused:
        database_url("sqlite:///data/stx.db", {"STX_DATABASE_PASSWORD": "nope-123"})
    assert "nope-123" not in str(refused.value)


def test_urls_are_shown_without_their_passwords() -> None:
    assert redact_url("postgresql://stx:hunter2@db:5432/stx") == "postgresql://stx:***@db:5432/stx"
    assert redact_url("redis://:hunter2@cache:6379/0") == "redis://:***@cache:6379/0"
    assert redact_url("postgresql://stx@db/stx") == "postgresql://stx@db/stx"
    assert redact_url("sqlite:///data/stx.db") == "sqlite:///data/stx.db"


def test_configuration_errors_do_not_echo_a_password() -> None:
    with pytest.raises(ConfigError) as database:
        load(environ={"STX_DATABASE_URL": "mysql://stx:hunter2@db/stx"})
    assert "hunter2" not in str(database.value)
    assert "mysql://stx:***@db/stx" in str(database.value)
    with pytest.raises(ConfigError) as redis:
        load(environ={"STX_REDIS_URL": "http://:hunter2@cache:6379"})
    assert "hunter2" not in str(redis.value)


def test_the_pin_is_never_taken_from_the_configuration_file() -> None:
    with pytest.raises(ConfigError, match="STX_PKCS11_PIN"):
        from_mapping({"keys": {"pkcs11_module": "/lib/x.so", "pkcs11_pin": "1234"}})
    with pytest.raises(ConfigError, match="pkcs11_token"):
        from_mapping({"keys": {"pkcs11_module": "/lib/x.so"}})
    settings = from_mapping({"keys": {"pkcs11_module": "/lib/x.so", "pkcs11_token": "stx"}})
    assert (settings.pkcs11_module, settings.pkcs11_token) == ("/lib/x.so", "stx")
    overridden = load(environ={"STX_PKCS11_MODULE": "/lib/y.so", "STX_PKCS11_TOKEN": "t"})
    assert (overridden.pkcs11_module, overridden.pkcs11_token) == ("/lib/y.so", "t")


def test_a_token_without_its_pin_does_not_start(tmp_path: Path) -> None:
    settings = replace(
        load(environ={}), data_dir=tmp_path, pkcs11_module="/lib/x.so", pkcs11_token="stx"
    )
    with pytest.raises(HsmError, match="STX_PKCS11_PIN or STX_PKCS11_PIN_FILE"):
        open_key_ring(settings, environ={})
    assert not (tmp_path / "keys").exists()  # no silent fallback to key files
