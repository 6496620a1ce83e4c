"""The exchange process: composes the engine, feeds and gateways."""

import os

# TLS 1.3 only, for every gRPC server and channel of this process: the same
# setting, for the same reason, as clients/__init__.py makes for client
# processes (read there why). It must be in the environment before grpc
# loads, and this package loads first in `stx`. The server does not import
# clients/ for it (the house rules); tests/test_layering_rules.py checks
# that the two agree. An operator's own value is kept.
TLS13_ONLY_CIPHER_SUITES = "ECDHE-PSK-CHACHA20-POLY1305"
os.environ.setdefault("GRPC_SSL_CIPHER_SUITES", TLS13_ONLY_CIPHER_SUITES)

# Before any server module loads: with STX_PURE_ENGINE set, the compiled ones
# load from their .py files too (matching/build.py, decision 0008).
import matching.build  # noqa: E402, F401
