"""The consumers of committed batches: market data, the store projector, surveillance."""
