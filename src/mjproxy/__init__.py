"""mjproxy: a self-hosted Midjourney API over Discord user accounts, with a faithful sandbox."""

__version__ = "0.1.0"
