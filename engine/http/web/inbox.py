"""``/inbox``: the open tasks the person may take (the engine's inbox, a page at a time), the
deadline in red once passed, the urgency; each links to its document's page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from engine.http.web.pages import render
from engine.http.web.session import CurrentUser, workspace
from engine.workflow.inbox import inbox_page
from engine.workflow.reminders import recent_reminders
from vanthu import clock

router = APIRouter()

PAGE_SIZE = 50


@router.get("/inbox")
def inbox(
    request: Request, user: CurrentUser, page: Annotated[int, Query(ge=1, le=100_000)] = 1
) -> HTMLResponse:
    found = inbox_page(
        workspace(request), user.username, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    pages = max(1, -(-found.total // PAGE_SIZE))
    return render(
        request,
        "inbox.html",
        title="Hộp việc",
        inbox_count=found.total,
        entries=found.entries,
        total=found.total,
        overdue=found.overdue,
        page=page,
        pages=pages,
        reminders=recent_reminders(workspace(request), user.username, clock.now()),
    )
