"""Generated stubs of the platform's gRPC APIs (see ``proto/generate.py``)."""
