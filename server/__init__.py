"""The exchange process: composes the engine, feeds and gateways."""

import clients  # noqa: F401 - restricts gRPC to TLS 1.3 before grpc loads (see clients/__init__.py)
