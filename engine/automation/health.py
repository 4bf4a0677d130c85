"""`vanthu doctor`: every part an agency needs, checked before anything runs.

Each check reports on its own, so one broken part does not hide the others.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass

from engine.automation.registry import open_workspace
from engine.core.config import Settings
from engine.signatures import keys
from vanthu.errors import VanthuError

HEALTH_KEY = "health/doctor"


@dataclass(frozen=True)
class Check:
    part: str
    """What was checked, in Vietnamese."""
    ok: bool
    detail: str


def checks(settings: Settings) -> Iterator[Check]:
    """The database, the store, the keys, LibreOffice and poppler, each on its own."""
    try:
        ws = open_workspace(settings)
    except VanthuError as exc:
        yield Check("cấu hình và cơ sở dữ liệu", False, str(exc))
    else:
        yield Check("cơ sở dữ liệu", True, ws.db.url.render_as_string(hide_password=True))
        try:
            ws.store.put(HEALTH_KEY, b"ok")
            yield Check("kho lưu trữ", ws.store.get(HEALTH_KEY) == b"ok", ws.store.url)
        except VanthuError as exc:
            yield Check("kho lưu trữ", False, str(exc))
        try:
            yield Check(
                "khóa và chứng thư", bool(keys.trust_roots(ws)), str(keys.pki(ws).directory)
            )
        except VanthuError as exc:
            yield Check("khóa và chứng thư", False, str(exc))
    soffice = shutil.which(settings.soffice)
    yield Check(
        "LibreOffice", soffice is not None, soffice or f"không tìm thấy '{settings.soffice}'"
    )
    pdftotext = shutil.which("pdftotext")
    yield Check("pdftotext (poppler-utils)", pdftotext is not None, pdftotext or "cần cho bố cục")
