# The fixtures stellar_app, stellar_clock and stellar_root.
pytest_plugins = ["stellar.testing.pytest_plugin"]
