"""``python -m babyapi``: the same command as ``babyapi``."""

from __future__ import annotations

from babyapi.cli import main

raise SystemExit(main())
