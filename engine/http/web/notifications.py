"""``/notifications?since=…``: what ``static/notify.js`` polls on every page (the menu's count,
overdue tasks, the tasks that came in since its last question)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from engine.core.errors import InvalidInput
from engine.http.web.session import CurrentUser, workspace
from engine.workflow.notifications import notifications

router = APIRouter()


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            "thời điểm 'since' không đúng dạng ISO 8601",
            "'since' is not an ISO 8601 moment",
            code="notifications.since_invalid",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@router.get("/notifications")
def poll(
    request: Request,
    user: CurrentUser,
    since: Annotated[str | None, Query(max_length=40)] = None,
) -> JSONResponse:
    found = notifications(workspace(request), user.username, _since(since))
    return JSONResponse(
        {
            "open": found.open,
            "overdue": found.overdue,
            "now": found.now.isoformat(),
            "new": [
                {
                    "document_id": t.document_id,
                    "doc_type": t.doc_type,
                    "subject": t.subject,
                    "url": f"/documents/{t.document_id}",
                }
                for t in found.new
            ],
        },
        headers={"Cache-Control": "no-store"},
    )
