"""Tests of the generic Discord user client (mjproxy.discord)."""
