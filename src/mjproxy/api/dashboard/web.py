"""What every dashboard page shares: the templates, who is looking, and the page context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from ... import __version__
from ..auth import Principal, authenticator_of, credential_of
from .sessions import session_of

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
PREFIX = "/dashboard"


def percent(progress: str | None) -> int:
    """"46%" → 46 for a <progress> element; anything unreadable counts as 0."""
    text = (progress or "").strip().rstrip("%")
    try:
        return max(0, min(100, int(float(text))))
    except ValueError:
        return 0


def isotime(epoch_ms: int | None) -> str:
    if not epoch_ms:
        return ""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).isoformat(timespec="seconds")


def shorttime(epoch_ms: int | None) -> str:
    if not epoch_ms:
        return "—"
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# Icon-only buttons (🔄, ⬅️, 1️⃣ …) need words for screen readers; the customId says what they do.
_BUTTON_WORDS = (("reroll", "Reroll"), ("pan_left", "Pan left"), ("pan_right", "Pan right"), ("pan_up", "Pan up"),
                 ("pan_down", "Pan down"), ("BOOKMARK", "Bookmark"), ("Picread::all", "Imagine all"),
                 ("Picread", "Imagine prompt"), ("PromptAnalyzer", "Imagine option"))


def button_name(button: dict[str, Any]) -> str:
    label = str(button.get("label") or "").strip()
    if label:
        return label
    custom_id = str(button.get("customId") or "")
    for needle, words in _BUTTON_WORDS:
        if needle in custom_id:
            number = custom_id.rsplit("::", 1)[-1]
            return f"{words} {number}" if words.endswith(("prompt", "option")) and number.isdigit() else words
    return str(button.get("emoji") or custom_id)


templates.env.filters.update(percent=percent, isotime=isotime, shorttime=shorttime, button_name=button_name)


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in principal, whether the server is open (no sign-in needed), and the CSRF token."""

    principal: Principal
    open_server: bool
    csrf: str
    signed_in: bool

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin


async def viewer_of(request: Request) -> Viewer | None:
    authenticator = authenticator_of(request)
    principal = await authenticator.authenticate(credential_of(request))
    if principal is None:
        return None
    session = session_of(request)
    return Viewer(principal, await authenticator.open(), session.csrf if session else "", session is not None)


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{PREFIX}/login?next={quote(target, safe='')}", status_code=303)


def render(request: Request, name: str, viewer: Viewer | None, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"viewer": viewer, "version": __version__,
                                                      "prefix": PREFIX, **context}, status_code=status_code)


def forbidden(request: Request, viewer: Viewer) -> Response:
    return render(request, "forbidden.html", viewer, status_code=403)


def safe_next(target: str | None) -> str:
    """Only a path of this dashboard: a sign-in form must not become an open redirect."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/"
