"""The FIX gateway: codec, dictionary, session layer, message store, acceptor (docs/fix.md)."""
