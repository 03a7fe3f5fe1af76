"""Subscribers of the event bus that tell the outside world: webhook delivery."""
