"""Contract tests: every Backend method, against every backend."""
