"""The gateways: gRPC order entry and queries, and the REST bridge in front of it."""
