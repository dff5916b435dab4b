"""``python -m stellar.cli``."""

from stellar.cli.main import main

main()
