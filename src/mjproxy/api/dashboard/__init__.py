"""The dashboard face: server-rendered pages (Jinja2 + htmx) at ``/`` and ``/dashboard/*``."""
