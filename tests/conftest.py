"""Fixtures for the whole suite: throwaway PostgreSQL and Redis servers."""

pytest_plugins = ["tests.throwaway"]
