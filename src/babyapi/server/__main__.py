"""``python -m babyapi.server``."""

from __future__ import annotations

import sys

from babyapi.server.command import main

if __name__ == "__main__":
    sys.exit(main())
