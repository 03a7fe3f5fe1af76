"""Network helpers shared by every layer that reaches out on a client's behalf."""
