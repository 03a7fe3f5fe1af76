"""Use cases, scheduling, correlation, timeouts and the event bus."""
