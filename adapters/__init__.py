"""Per-territory adapters: one file per eATA territory (config plus rare quirks)."""
