"""Long-running checks against `make cluster` (not part of `make test`): `make soak`."""
