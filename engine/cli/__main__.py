"""``python -m engine.cli`` == ``engine``."""

from engine.cli import main

main()
