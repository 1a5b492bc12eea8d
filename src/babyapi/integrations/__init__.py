"""Optional bridges to other systems; each module needs its own extra and is imported alone."""
