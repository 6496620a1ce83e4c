"""The REST bridge, grpc-gateway style: HTTP routes built from the contract's
``google.api.http`` annotations, calling the gRPC server through a channel."""
