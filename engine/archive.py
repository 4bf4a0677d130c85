"""Finding and retrieving archived records. Every retrieval is logged in the audit chain."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from engine import audit
from engine.db import transaction
from engine.errors import NotAllowed, NotFound
from engine.models import ArchiveRecord
from engine.runtime import user_named
from engine.text import fold
from engine.workspace import Workspace
from storage import RecordManifest, get_content, read_record

READERS = frozenset({"archivist", "clerk", "leader", "admin"})


def search(ws: Workspace, query: str, *, limit: int = 20) -> list[ArchiveRecord]:
    """Records whose metadata holds every word of ``query``, diacritics ignored, newest first."""
    words = fold(query).split()
    with Session(ws.db) as session:
        statement = select(ArchiveRecord)
        for word in words:
            statement = statement.where(col(ArchiveRecord.search_text).contains(word))
        return list(
            session.exec(statement.order_by(col(ArchiveRecord.archived_at).desc()).limit(limit))
        )


@dataclass(frozen=True)
class Retrieved:
    """A record written out to a folder, every object's hash checked on the way."""

    manifest: RecordManifest
    files: tuple[Path, ...]


def retrieve(ws: Workspace, record_id: str, username: str, out_dir: Path) -> Retrieved:
    with transaction(ws.db) as session:
        user = user_named(session, username)
        if user.role not in READERS:
            raise NotAllowed(f"{username} ({user.role}) không được lấy hồ sơ lưu trữ")
        if (
            session.exec(select(ArchiveRecord).where(ArchiveRecord.record_id == record_id)).first()
            is None
        ):
            raise NotFound(f"không có bản lưu '{record_id}'")
        audit.append(
            session, actor=username, event="archive_retrieved", detail={"record": record_id}
        )
    manifest = read_record(ws.store, record_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for ref in manifest.objects:
        target = out_dir / Path(ref.name).name
        target.write_bytes(get_content(ws.store, ref.sha256))
        files.append(target)
    metadata_path = out_dir / f"{record_id}.json"
    metadata_path.write_bytes(manifest.to_json())
    return Retrieved(manifest, (*files, metadata_path))
