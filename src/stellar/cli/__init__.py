"""The ``stellar`` command line."""
