"""``python -m mjproxy …``: the same commands as the ``mjproxy`` console script."""

from .cli import app

if __name__ == "__main__":
    app()
