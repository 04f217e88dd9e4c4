"""Privacy by design: pseudonymisation of channel ids (scrubbing and retention come later)."""
