"""Benchmarks run by ``stx bench``; figures are recorded in docs/performance.md."""
