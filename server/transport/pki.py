"""The local certificate authority ``stx serve`` creates when TLS is on and no
certificate is configured: a demo or a single host runs encrypted with no set-up.

Everything lives in one directory (``<data dir>/tls``): the CA (``ca.pem``,
``ca-key.pem``), the server's certificate for localhost, 127.0.0.1 and ::1
(``server.pem``, ``server-key.pem``) and the client certificate of the
exchange's own services (``client.pem``, ``client-key.pem``: the REST bridge
presents it when the gRPC port requires client certificates). Keys are ECDSA
P-256, written 0600 in a 0700 directory. Each start reuses what is there and
reissues what is missing, expires within ``RENEW_BEFORE``, or no longer chains
to the CA; a CA close to its end is replaced, and everything it signed with it.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import exceptions, x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_LIFETIME = datetime.timedelta(days=5 * 365)
LEAF_LIFETIME = datetime.timedelta(days=90)
RENEW_BEFORE = datetime.timedelta(days=30)
"""A leaf certificate this close to its end is reissued at the next start."""
CA_RENEW_BEFORE = datetime.timedelta(days=180)
SERVER_NAMES = ("localhost",)
SERVER_ADDRESSES = ("127.0.0.1", "::1")
INTERNAL_CLIENT = "stx-internal"
"""The common name of the exchange's own services' client certificate."""


@dataclass(frozen=True)
class LocalPki:
    """The files of a local CA directory."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca-key.pem"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server-key.pem"

    @property
    def client_cert(self) -> Path:
        return self.directory / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.directory / "client-key.pem"


def ensure_local_pki(directory: Path, now: datetime.datetime | None = None) -> LocalPki:
    """The local CA in ``directory`` with valid server and client certificates,
    created or renewed as needed; returns the paths."""
    now = now or datetime.datetime.now(datetime.UTC)
    pki = LocalPki(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    ca_cert, ca_key = _ensure_ca(pki, now)
    _ensure_leaf(pki.server_cert, pki.server_key, ca_cert, ca_key, now, server=True)
    _ensure_leaf(pki.client_cert, pki.client_key, ca_cert, ca_key, now, server=False)
    return pki


def _ensure_ca(
    pki: LocalPki, now: datetime.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    loaded = _load(pki.ca, pki.ca_key)
    if loaded is not None:
        cert, key = loaded
        if cert.not_valid_after_utc - CA_RENEW_BEFORE > now:
            return cert, key
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "StockTraderX local CA")])
    cert = (
        _builder(name, name, key.public_key(), now, CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(pki.ca_key, pki.ca, key, cert)
    return cert, key


def _ensure_leaf(
    cert_path: Path,
    key_path: Path,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    now: datetime.datetime,
    *,
    server: bool,
) -> None:
    loaded = _load(cert_path, key_path)
    if loaded is not None:
        cert, _ = loaded
        fresh = cert.not_valid_after_utc - RENEW_BEFORE > now
        if fresh and cert.issuer == ca_cert.subject and _signed_by(cert, ca_cert):
            return
    key = ec.generate_private_key(ec.SECP256R1())
    common_name = SERVER_NAMES[0] if server else INTERNAL_CLIENT
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        _builder(subject, ca_cert.subject, key.public_key(), now, LEAF_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if server:
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in SERVER_NAMES]
        names += [x509.IPAddress(ipaddress.ip_address(text)) for text in SERVER_ADDRESSES]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(INTERNAL_CLIENT)]), critical=False
        )
    _write(key_path, cert_path, key, builder.sign(ca_key, hashes.SHA256()))


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    now: datetime.datetime,
    lifetime: datetime.timedelta,
) -> x509.CertificateBuilder:
    # Back-dated a little: a peer whose clock is slightly behind still accepts it.
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + lifetime)
    )


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, exceptions.InvalidSignature):
        return False
    return True


def _load(
    cert_path: Path, key_path: Path
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    """The pair in these files; None if either is missing or unreadable (it is
    then made again: these files are the exchange's own, not an operator's)."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    return cert, key


def _write(
    key_path: Path, cert_path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
) -> None:
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(key_path, key_bytes)
    write_public(cert_path, cert.public_bytes(serialization.Encoding.PEM))


def write_private(path: Path, content: bytes) -> None:
    """``content`` into ``path``, readable by the owner only from its first byte
    (created 0600 under a temporary name, then renamed into place)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)


def write_public(path: Path, content: bytes) -> None:
    """A certificate: nothing secret, but 0600 like every file of the data
    directory (one rule to check); whoever needs the CA gets a copy."""
    write_private(path, content)
