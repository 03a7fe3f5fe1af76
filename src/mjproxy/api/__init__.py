"""HTTP faces: thin adapters from wire formats to engine use cases."""
