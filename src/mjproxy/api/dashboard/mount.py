"""Puts the dashboard on the app: its pages, its static files and the session table."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from .admin_pages import router as admin_router
from .pages import router as pages_router
from .sessions import SessionStore
from .web import HERE, PREFIX


def install(app: FastAPI) -> None:
    """Mounts the pages and their static files and gives the app its session table."""
    app.state.sessions = SessionStore()
    app.include_router(pages_router)
    app.include_router(admin_router)
    app.mount(PREFIX + "/static", StaticFiles(directory=HERE / "static"), name="dashboard-static")
