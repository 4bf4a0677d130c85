"""``/tra-cuu?ma=CODE``: anyone looks up a one-stop dossier by the code on their receipt (the
receipt's QR code opens it). No login, and no personal data: the procedure, the state, the
dates received and promised, nothing that names or reaches the applicant. Each address may ask
a limited number of times a minute, so codes cannot be walked through."""

from __future__ import annotations

import threading
import time
from collections import deque

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from engine.core.errors import NotFound
from engine.http.web.pages import render
from engine.http.web.session import client_address, workspace
from engine.onestop import public_status

router = APIRouter()

TITLE = "Tra cứu hồ sơ thủ tục hành chính"
LOOKUPS_PER_MINUTE = 20
"""Look-ups one address may make in a minute; more are answered 429."""
_WINDOW_S = 60.0
_recent: dict[str, deque[float]] = {}
_lock = threading.Lock()


def _allowed(address: str) -> bool:
    now = time.monotonic()
    with _lock:
        seen = _recent.setdefault(address, deque())
        while seen and now - seen[0] > _WINDOW_S:
            seen.popleft()
        if len(seen) >= LOOKUPS_PER_MINUTE:
            return False
        seen.append(now)
        if len(_recent) > 10_000:  # forget quiet addresses; the map stays small
            for key in [k for k, v in _recent.items() if not v]:
                del _recent[key]
        return True


@router.get("/tra-cuu")
def lookup(request: Request, ma: str | None = Query(None, max_length=60)) -> HTMLResponse:
    code = (ma or "").strip()
    if not code:
        return render(request, "lookup/page.html", title=TITLE, code="", status=None, error=None)
    if not _allowed(client_address(request)):
        return render(
            request,
            "lookup/page.html",
            status_code=429,
            title=TITLE,
            code=code,
            status=None,
            error="Tra cứu quá nhiều lần trong một phút: xin thử lại sau ít phút.",
        )
    try:
        found = public_status(workspace(request), code)
    except NotFound:
        return render(
            request,
            "lookup/page.html",
            status_code=404,
            title=TITLE,
            code=code,
            status=None,
            error=f"Không có hồ sơ mã {code}. Xin kiểm tra lại mã in trên giấy tiếp nhận.",
        )
    return render(request, "lookup/page.html", title=TITLE, code=code, status=found, error=None)
