"""The core: sequencer, journal writer, engine and order registry, in one thread."""
