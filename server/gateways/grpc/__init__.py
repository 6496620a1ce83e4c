"""Gateways: the ways into the exchange (gRPC today), all through the sequencer."""
