"""The exchange process: composes the engine, feeds and gateways."""
