"""Transport security: the local certificate authority, TLS settings and
credentials for gRPC and the REST bridge, and listening errors."""
