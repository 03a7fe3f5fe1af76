"""discord layer."""
