"""Use the fixtures of stellar's pytest plugin here, as a user's conftest would."""

from stellar.testing.pytest_plugin import stellar_app, stellar_clock, stellar_root

__all__ = ["stellar_app", "stellar_clock", "stellar_root"]
