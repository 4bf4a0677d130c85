"""Every manifest the engine writes for a record is audited: who, which record and revision,
and the SHA-256 of the manifest itself.

A record changes only through the engine (archiving, a case file, an LTV renewal, an import),
so a revision in the store that the audit log does not name, or whose manifest differs from the
one audited, was put there past the engine. ``vanthu archive check`` compares the two
(engine.archive.fixity).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.models import AuditEvent
from storage import RecordManifest

WRITTEN = "archive_revision_written"
"""The audit event of one manifest written to the store."""

Audited = dict[str, dict[int, set[str]]]
"""record id → revision → SHA-256 of the manifests audited for it."""


def audit_written(session: Session, *, actor: str, manifest: RecordManifest, via: str) -> None:
    """Record, inside the caller's transaction, that ``manifest`` was written (``via``: what
    wrote it: 'archive', 'case_file', 'ltv', 'import')."""
    audit.append(
        session,
        actor=actor,
        event=WRITTEN,
        detail={
            "record": manifest.record_id,
            "revision": manifest.revision,
            "manifest_sha256": manifest.digest,
            "reason": manifest.reason,
            "via": via,
        },
    )


def audit_all(
    session: Session, *, actor: str, manifests: Iterable[RecordManifest], via: str
) -> None:
    for manifest in manifests:
        audit_written(session, actor=actor, manifest=manifest, via=via)


def audited(session: Session, record_id: str | None = None) -> Audited:
    """The manifests the audit log names, for every record or one."""
    query = select(AuditEvent.detail).where(AuditEvent.event == WRITTEN)
    if record_id is not None:  # a first cut in SQL; the JSON is read below
        query = query.where(
            col(AuditEvent.detail).contains(json.dumps(record_id, ensure_ascii=False))
        )
    found: Audited = {}
    for text in session.exec(query.order_by(col(AuditEvent.seq))):
        detail = json.loads(text)
        rid, revision, digest = (
            detail.get("record"),
            detail.get("revision"),
            detail.get("manifest_sha256"),
        )
        if record_id is not None and rid != record_id:
            continue
        if isinstance(rid, str) and isinstance(revision, int) and isinstance(digest, str):
            found.setdefault(rid, {}).setdefault(revision, set()).add(digest)
    return found
