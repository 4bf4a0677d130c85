"""`vanthu doctor`: every part an agency needs, checked before anything runs.

Each check reports on its own, so one broken part does not hide the others.
"""

from __future__ import annotations

import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from engine.automation.registry import open_workspace
from engine.core.config import Settings
from engine.core.logs import LOG_DIR, log_path
from engine.signatures import keys
from vanthu.errors import VanthuError

HEALTH_KEY = "health/doctor"


@dataclass(frozen=True)
class Check:
    part: str
    """What was checked, in Vietnamese."""
    ok: bool
    detail: str
    warning: bool = False
    """Not ok, but nothing fails because of it: someone should look (files opened to others)."""


def _sqlite_files(url: str) -> list[Path]:
    if not url.startswith("sqlite"):
        return []
    database = make_url(url).database
    if not database or database == ":memory:":
        return []
    path = Path(database)
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def private_paths(settings: Settings) -> list[Path]:
    """The agency's files that must be its owner's only, those that exist: the SQLite files,
    the folder store, the PKI folder and its keys, the logs folder and log file."""
    paths = _sqlite_files(settings.effective_database_url)
    if settings.effective_store_url.startswith("file://"):
        paths.append(Path(settings.effective_store_url.removeprefix("file://")))
    pki = settings.effective_pki_dir
    paths.append(pki)
    if pki.is_dir():
        for pattern in ("*.p12", "*.txt", "*.json"):
            paths.extend(sorted(pki.glob(pattern)))
    paths += [settings.home / LOG_DIR, log_path(settings.home)]
    return [path for path in paths if path.exists()]


def open_to_others(settings: Settings) -> list[tuple[Path, int]]:
    """Each of :func:`private_paths` that group or others may read (or enter, or write), with
    its mode."""
    found = []
    for path in private_paths(settings):
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            found.append((path, mode))
    return found


def checks(settings: Settings) -> Iterator[Check]:
    """The database, the store, the keys, LibreOffice and poppler, each on its own; and a
    warning naming each of the agency's files or folders group or others may read."""
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
    opened = open_to_others(settings)
    yield Check(
        "quyền truy cập tệp",
        not opened,
        "; ".join(
            f"{path} mở cho người khác (quyền {mode:04o}), cần chmod go-rwx"
            for path, mode in opened
        )
        or "chỉ chủ sở hữu đọc được cơ sở dữ liệu, kho, khóa và nhật ký",
        warning=bool(opened),
    )
    pdftotext = shutil.which("pdftotext")
    yield Check("pdftotext (poppler-utils)", pdftotext is not None, pdftotext or "cần cho bố cục")
