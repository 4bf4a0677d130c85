"""The audit log: append-only events, each carrying the SHA-256 of the one before.

Appends lock the single head row, so concurrent writers queue instead of forking the chain.
`verify_chain` recomputes every hash: an edited event breaks its own hash, a deleted one breaks
the sequence or the link, a truncated tail disagrees with the head.

Every event records the channel it came through (:data:`CHANNELS`) and, for the command line,
the operating-system user who ran it. Each face sets them once for what it runs
(``with audit.channel("cli", os_user=…):``, :mod:`vanthu.channel`); ``append`` reads them, so no
engine function passes them along. Work that no face started is ``system``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from engine.core.models import AuditEvent, AuditHead
from vanthu import clock
from vanthu.channel import CHANNELS as CHANNELS
from vanthu.channel import Channel as Channel
from vanthu.channel import channel as channel
from vanthu.channel import current as current_channel

GENESIS = "0" * 64


def _digest(event: Mapping[str, Any]) -> str:
    """The hash of an event's values (``_values`` of a stored one)."""
    payload: dict[str, Any] = {
        "seq": event["seq"],
        "at": event["at"].astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": event["actor"],
        "event": event["event"],
        "document_id": event["document_id"],
        "step": event["step"],
        "detail": event["detail"],
        "prev_hash": event["prev_hash"],
    }
    # Events from before migration 0007 have neither: their hashes never covered them. Every
    # later event has a channel, so clearing it (or adding one to an old event) breaks its hash.
    if event["channel"] is not None or event["os_user"] is not None:
        payload["channel"] = event["channel"]
        payload["os_user"] = event["os_user"]
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_HASHED = (
    "seq", "at", "actor", "event", "document_id", "step", "detail", "prev_hash", "channel",
    "os_user",
)  # fmt: skip


def _values(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in _HASHED}


def append(
    session: Session,
    *,
    actor: str,
    event: str,
    document_id: int | None = None,
    step: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add one event inside the caller's transaction, with the current :func:`channel`."""
    head = session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    face = current_channel()
    record = AuditEvent(
        seq=head.seq + 1,
        at=clock.now(),
        actor=actor,
        event=event,
        document_id=document_id,
        step=step,
        detail=json.dumps(dict(detail or {}), sort_keys=True, ensure_ascii=False, default=str),
        prev_hash=head.hash,
        hash="",
        channel=face.name,
        os_user=face.os_user,
    )
    record.hash = _digest(_values(record))
    head.seq, head.hash = record.seq, record.hash
    session.add(record)
    session.add(head)
    session.flush()
    return record


def append_many(
    session: Session, actor: str, events: Sequence[tuple[str, Mapping[str, Any]]]
) -> None:
    """Add ``(event, detail)`` pairs as :func:`append` does one by one (the head locked once,
    each hashed on the one before), in one INSERT: what a bulk ingest of thousands needs."""
    head = session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    face = current_channel()
    seq, previous = head.seq, head.hash
    rows = []
    for event, detail in events:
        seq += 1
        row: dict[str, Any] = {
            "seq": seq,
            "at": clock.now(),
            "actor": actor,
            "event": event,
            "document_id": None,
            "step": None,
            "detail": json.dumps(dict(detail), sort_keys=True, ensure_ascii=False, default=str),
            "prev_hash": previous,
            "channel": face.name,
            "os_user": face.os_user,
        }
        row["hash"] = previous = _digest(row)
        rows.append(row)  # plain rows: building a model object per event cost more than the hash
    session.execute(insert(AuditEvent), rows)
    head.seq, head.hash = seq, previous
    session.add(head)
    session.flush()


@dataclass(frozen=True)
class ChainReport:
    """Result of checking the whole audit chain."""

    events: int
    """How many events were checked."""
    problems: tuple[str, ...]
    """What is wrong, one line each, naming the event's sequence number; empty when intact."""

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_chain(engine: Engine) -> ChainReport:
    problems: list[str] = []
    expected_prev, expected_seq, count = GENESIS, 1, 0
    with Session(engine) as session:
        head = session.get(AuditHead, 1)
        for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))):
            count += 1
            if event.seq != expected_seq:
                problems.append(
                    f"sự kiện #{expected_seq}–#{event.seq - 1} bị xóa (thiếu trong chuỗi)"
                )
            if event.prev_hash != expected_prev:
                problems.append(f"sự kiện #{event.seq}: không nối với sự kiện trước nó")
            if _digest(_values(event)) != event.hash:
                problems.append(f"sự kiện #{event.seq} ({event.event}): nội dung đã bị sửa")
            expected_prev, expected_seq = event.hash, event.seq + 1
    if head is None:
        problems.append("không có bản ghi đầu chuỗi (audit_head)")
    elif (head.seq, head.hash) != (expected_seq - 1, expected_prev):
        problems.append(f"chuỗi kết thúc ở #{expected_seq - 1} nhưng đầu chuỗi ghi #{head.seq}")
    return ChainReport(events=count, problems=tuple(problems))


def events(engine: Engine, document_id: int | None = None) -> list[AuditEvent]:
    """The events in order, all or those of one document."""
    with Session(engine) as session:
        query = select(AuditEvent).order_by(col(AuditEvent.seq))
        if document_id is not None:
            query = query.where(AuditEvent.document_id == document_id)
        return list(session.exec(query).all())
