"""What the processes share about orders and alerts: the order registry (a pure
projection of committed batches), the sequenced command, and alert records."""
