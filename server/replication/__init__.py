"""Replication of the core's journal to a hot standby on another host (decision 0010)."""
