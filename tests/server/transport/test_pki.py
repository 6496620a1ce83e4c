"""The local certificate authority: made once, reused, renewed before expiry."""

from __future__ import annotations

import datetime
import stat
from pathlib import Path

import pytest
from cryptography import x509

from server.config import ConfigError, load
from server.transport.credentials import TlsFileError, resolve
from server.transport.pki import CA_LIFETIME, LEAF_LIFETIME, RENEW_BEFORE, ensure_local_pki
from server.transport.settings import TlsSettings

NOW = datetime.datetime(2027, 1, 4, 9, 30, tzinfo=datetime.UTC)


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_first_start_makes_a_ca_and_certificates_that_chain_to_it(tmp_path: Path) -> None:
    pki = ensure_local_pki(tmp_path / "tls", NOW)
    ca = _cert(pki.ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for leaf in (pki.server_cert, pki.client_cert):
        _cert(leaf).verify_directly_issued_by(ca)
        assert _cert(leaf).not_valid_after_utc == NOW + LEAF_LIFETIME
    usage = _cert(pki.client_cert).extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in usage.value
    for key in (pki.ca_key, pki.server_key, pki.client_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(pki.directory.stat().st_mode) == 0o700


def test_later_starts_reuse_the_files(tmp_path: Path) -> None:
    first = ensure_local_pki(tmp_path, NOW)
    before = {path: path.read_bytes() for path in (first.ca, first.server_cert, first.client_key)}
    ensure_local_pki(tmp_path, NOW + datetime.timedelta(days=30))
    assert {path: path.read_bytes() for path in before} == before


def test_a_certificate_close_to_expiry_is_renewed_and_the_ca_kept(tmp_path: Path) -> None:
    pki = ensure_local_pki(tmp_path, NOW)
    ca, server = pki.ca.read_bytes(), _cert(pki.server_cert)
    later = NOW + LEAF_LIFETIME - RENEW_BEFORE + datetime.timedelta(days=1)
    ensure_local_pki(tmp_path, later)
    assert pki.ca.read_bytes() == ca
    renewed = _cert(pki.server_cert)
    assert renewed.serial_number != server.serial_number
    assert renewed.not_valid_after_utc == later + LEAF_LIFETIME


def test_a_ca_close_to_expiry_is_replaced_with_everything_it_signed(tmp_path: Path) -> None:
    pki = ensure_local_pki(tmp_path, NOW)
    old_ca = _cert(pki.ca)
    ensure_local_pki(tmp_path, NOW + CA_LIFETIME - datetime.timedelta(days=30))
    new_ca = _cert(pki.ca)
    assert new_ca.serial_number != old_ca.serial_number
    for leaf in (pki.server_cert, pki.client_cert):
        _cert(leaf).verify_directly_issued_by(new_ca)


def test_a_damaged_file_is_made_again(tmp_path: Path) -> None:
    pki = ensure_local_pki(tmp_path, NOW)
    pki.server_key.write_text("not a key")
    ensure_local_pki(tmp_path, NOW)
    _cert(pki.server_cert).verify_directly_issued_by(_cert(pki.ca))
    assert b"PRIVATE KEY" in pki.server_key.read_bytes()


def test_configured_files_are_used_as_given_and_must_exist(tmp_path: Path) -> None:
    own = ensure_local_pki(tmp_path / "own", NOW)
    tls = TlsSettings(cert_file=own.server_cert, key_file=own.server_key, ca_file=own.ca)
    material = resolve(tls, tmp_path / "data")
    assert (material.cert, material.key, material.ca) == (own.server_cert, own.server_key, own.ca)
    assert not (tmp_path / "data" / "tls").exists()  # no local CA when files are configured
    missing = TlsSettings(cert_file=tmp_path / "nope.pem", key_file=own.server_key, ca_file=own.ca)
    with pytest.raises(TlsFileError, match=r"nope\.pem"):
        resolve(missing, tmp_path / "data")


def test_tls_settings_from_the_file_and_the_environment(tmp_path: Path) -> None:
    assert load(environ={}).tls == TlsSettings()  # on by default, local CA
    assert not load(environ={"STX_TLS_ENABLED": "false"}).tls.enabled
    required = load(environ={"STX_TLS_REQUIRE_CLIENT_CERT": "1"}).tls
    assert required.require_client_cert
    config = tmp_path / "stx.toml"
    config.write_text('[tls]\ncert_file = "s.pem"\nkey_file = "s.key"\nca_file = "ca.pem"\n')
    assert load(config, environ={}).tls.cert_file == Path("s.pem")
    config.write_text('[tls]\ncert_file = "s.pem"\n')
    with pytest.raises(ConfigError, match=r"cert_file and tls\.key_file go together"):
        load(config, environ={})
    config.write_text('[tls]\nca_file = "ca.pem"\n')
    with pytest.raises(ConfigError, match=r"tls\.ca_file goes with tls\.cert_file"):
        load(config, environ={})
    config.write_text("[tls]\nenabled = 'yes'\n")
    with pytest.raises(ConfigError, match=r"tls\.enabled: expected true or false"):
        load(config, environ={})
    with pytest.raises(ConfigError, match="STX_TLS_CURVE"):
        load(environ={"STX_TLS_CURVE": "maybe"})
