"""Risk stratification: published scoring rules implemented exactly, with their sources."""
