"""Fixtures for the whole suite: throwaway PostgreSQL and Redis servers."""

import clients  # noqa: F401 - gRPC's TLS 1.3 policy, set before any test module loads grpc

pytest_plugins = ["tests.throwaway"]
