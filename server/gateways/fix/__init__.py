"""The FIX gateway: codec, data dictionary, session layer, message store and acceptor (docs/fix.md)."""
