"""Entry point: python -m interop (what `make interop` runs)."""

from __future__ import annotations

import sys

from interop.run import main

sys.exit(main())
