"""The users' side of the exchange: Python SDKs, the CLI commands for people
and the load-test harness.

Everything here is built on the generated API (``stocktraderx.v1``) alone;
nothing imports the server or the engine.
"""

import os

# TLS 1.3 only, for every gRPC channel and server of this process. grpcio has
# no Python option for the protocol version, but its BoringSSL takes the
# TLS 1.2 cipher list from GRPC_SSL_CIPHER_SUITES (TLS 1.3 suites are not
# configurable there): a list holding only a pre-shared-key suite, which gRPC
# never provisions, leaves TLS 1.2 peers with no cipher to agree on. grpc reads
# the variable once, when it loads, which is why it is set here, the first
# package to import grpc (server/__init__.py imports this one first). An
# operator's own value is kept.
TLS13_ONLY_CIPHER_SUITES = "ECDHE-PSK-CHACHA20-POLY1305"
os.environ.setdefault("GRPC_SSL_CIPHER_SUITES", TLS13_ONLY_CIPHER_SUITES)
