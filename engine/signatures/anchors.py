"""Anchors of the audit chain: its head signed with the agency's key, timestamped by the TSA and
kept outside the database, in the store.

The chain in the database proves that no event was edited *unless* someone with access to the
database recomputed every hash after the edit. An anchor closes that gap: at every
``vanthu audit verify`` (and every hour on the schedule) the head the check has just verified —
its sequence number and hash — becomes a statement signed with the agency's key (a detached
CMS signature carrying the TSA's timestamp) and stored create-only, under permanent retention,
as ``audit/anchors/<seq>.json``. Whoever edits the database cannot re-sign it, cannot overwrite
it and cannot predate a new one.

``check_anchors`` holds the chain against every anchor: an anchor whose event is gone or has
another hash means the chain was rewritten, and the chain cannot be trusted from the event after
the last anchor that still matches. An anchor whose signature does not hold (made by someone
without the agency's key) is reported and vouches for nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from engine.core.audit import ChainReport, verify_chain
from engine.core.errors import EngineError
from engine.core.models import Agency, AuditEvent
from engine.core.text import vietnam_time
from engine.core.workspace import Workspace
from engine.signatures import keys
from signing import sign_bytes, verify_bytes
from storage import ObjectExists
from vanthu import clock
from vanthu.errors import Kind, VanthuError

PREFIX = "audit/anchors/"
"""Where anchors live in the store."""
KIND = "vanthu.audit_anchor"
"""The statement's ``kind``: what the agency signs is an audit anchor and nothing else."""
_KEY = re.compile(r"audit/anchors/(\d{12})\.json")
_DIGITS = 12
_BATCH = 500


class AuditChainBroken(EngineError):
    """The scheduled check found the chain broken or rewritten: the flow run fails."""

    code = "audit.chain_broken"
    kind = Kind.FAILED


@dataclass(frozen=True)
class Anchor:
    """One anchor: the head of the chain at ``seq`` as the agency signed it."""

    seq: int
    """The sequence number of the anchored event (the head then)."""
    hash: str
    """That event's hash."""
    anchored_at: datetime
    """When it was anchored, as the statement says."""
    timestamp: datetime | None
    """The TSA's time, once the signature has been checked (None before)."""
    key: str
    """Its key in the store."""


@dataclass(frozen=True)
class AnchorProblem:
    """Something wrong found by holding the chain against its anchors."""

    seq: int
    """The anchor's sequence number."""
    message: str
    message_en: str


@dataclass(frozen=True)
class AnchorReport:
    """The chain held against every anchor in the store."""

    anchors: int
    """How many anchors were found."""
    matched: int
    """How many of them hold (valid signature) and match the chain."""
    untrusted_from: int | None
    """The first event the anchors no longer vouch for, when the chain was rewritten."""
    problems: tuple[AnchorProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class AuditVerification:
    """``vanthu audit verify``: the chain itself, the chain against its anchors, the new anchor."""

    chain: ChainReport
    anchors: AnchorReport
    anchored: Anchor | None
    """The anchor of the head just verified (made now, or found already made)."""
    anchor_error: VanthuError | None
    """Why the head could not be anchored (the TSA did not answer, no agency key)."""

    @property
    def intact(self) -> bool:
        return self.chain.intact and self.anchors.ok

    @property
    def problems(self) -> tuple[str, ...]:
        return self.chain.problems + tuple(p.message for p in self.anchors.problems)


def anchor_key(seq: int) -> str:
    """``audit/anchors/000000000042.json``: zero-padded, so the store lists them in order."""
    return f"{PREFIX}{seq:0{_DIGITS}d}.json"


def anchor_seq(key: str) -> int | None:
    """The sequence number an anchor's key names; None for any other key."""
    found = _KEY.fullmatch(key)
    return int(found.group(1)) if found else None


def verify_audit(ws: Workspace, *, anchor: bool = True) -> AuditVerification:
    """Check the chain, hold it against every anchor, and — when both hold — anchor the head
    just verified. A failure to anchor is returned, not raised: the verdict stands either way."""
    chain = verify_chain(ws.db)
    anchors = check_anchors(ws)
    made: Anchor | None = None
    error: VanthuError | None = None
    if anchor and chain.intact and anchors.ok and chain.events:
        try:
            made = anchor_event(ws, chain.events)
        except VanthuError as exc:
            error = exc
    return AuditVerification(chain, anchors, made, error)


def anchor_event(ws: Workspace, seq: int) -> Anchor:
    """Anchor the event ``seq`` (the head a check has just verified): its hash signed and
    timestamped, stored create-only. An anchor already there is returned as it is."""
    key = anchor_key(seq)
    if ws.store.exists(key):
        return _existing(ws, key)
    with Session(ws.db) as session:
        event = session.get(AuditEvent, seq)
        agency = session.exec(select(Agency).order_by(col(Agency.id))).first()
    if event is None:
        raise EngineError(
            f"nhật ký không có sự kiện #{seq} để neo",
            f"the audit log has no event #{seq} to anchor",
            code="audit.anchor_event_missing",
            kind=Kind.NOT_FOUND,
            seq=seq,
        )
    now = clock.now()
    statement = {
        "kind": KIND,
        "version": 1,
        "agency": agency.code if agency is not None else "",
        "seq": seq,
        "hash": event.hash,
        "anchored_at": now.isoformat(),
    }
    text = json.dumps(statement, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    with keys.signing_policy(ws, "B-T"):
        signature = sign_bytes(keys.agency_key(ws), text.encode("utf-8"))
    body = {"statement": text, "signature": base64.b64encode(signature).decode("ascii")}
    data = (json.dumps(body, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    try:
        ws.store.create(key, data, "application/json", retain_until=ws.store.max_retain_until)
    except ObjectExists:  # another check anchored the same head at the same moment
        return _existing(ws, key)
    return Anchor(seq, event.hash, now, None, key)


def list_anchor_keys(ws: Workspace) -> list[str]:
    """The anchors' keys in the store, oldest first."""
    return [key for key in ws.store.list_keys(PREFIX) if anchor_seq(key) is not None]


def check_anchors(ws: Workspace) -> AnchorReport:
    """Hold the chain in the database against every anchor in the store."""
    found = list_anchor_keys(ws)
    if not found:
        return AnchorReport(0, 0, None, ())
    roots = keys.trust_roots(ws)
    agency_name = keys.agency_key(ws).common_name
    problems: list[AnchorProblem] = []
    holding: list[Anchor] = []
    for key in found:
        anchor, problem = _checked(ws, key, roots, agency_name)
        if problem is not None:
            problems.append(problem)
        elif anchor is not None:
            holding.append(anchor)
    hashes = _event_hashes(ws, [a.seq for a in holding])
    last_good, first_bad = 0, None
    matched = 0
    for anchor in holding:  # in order of seq
        current = hashes.get(anchor.seq)
        if current == anchor.hash:
            matched += 1
            if first_bad is None:
                last_good = anchor.seq
            continue
        if first_bad is None:
            first_bad = anchor
        problems.append(_mismatch(anchor, current))
    untrusted_from = last_good + 1 if first_bad is not None else None
    if first_bad is not None:
        problems.insert(
            0,
            AnchorProblem(
                first_bad.seq,
                f"nhật ký đã bị viết lại: không tin cậy được từ sự kiện #{untrusted_from} trở đi"
                f" (mốc neo #{first_bad.seq} ký ngày {_shown(first_bad)} không còn khớp)",
                f"the audit log was rewritten: it cannot be trusted from event #{untrusted_from}"
                f" on (the anchor #{first_bad.seq} signed on {_shown(first_bad)} no longer"
                " matches)",
            ),
        )
    return AnchorReport(len(found), matched, untrusted_from, tuple(problems))


def _mismatch(anchor: Anchor, current: str | None) -> AnchorProblem:
    when = _shown(anchor)
    if current is None:
        return AnchorProblem(
            anchor.seq,
            f"mốc neo #{anchor.seq} (ký ngày {when}): nhật ký không còn sự kiện #{anchor.seq}",
            f"anchor #{anchor.seq} (signed on {when}): the log no longer has event #{anchor.seq}",
        )
    return AnchorProblem(
        anchor.seq,
        f"mốc neo #{anchor.seq} (ký ngày {when}): mã băm của sự kiện #{anchor.seq} đã khác",
        f"anchor #{anchor.seq} (signed on {when}): event #{anchor.seq} has another hash",
    )


def _shown(anchor: Anchor) -> str:
    moment = anchor.timestamp or anchor.anchored_at
    return vietnam_time(moment).strftime("%d/%m/%Y %H:%M:%S")


def _event_hashes(ws: Workspace, seqs: Iterable[int]) -> dict[int, str]:
    wanted = list(seqs)
    hashes: dict[int, str] = {}
    with Session(ws.db) as session:
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start : start + _BATCH]
            rows = session.exec(
                select(AuditEvent.seq, AuditEvent.hash).where(col(AuditEvent.seq).in_(batch))
            )
            hashes.update({seq: value for seq, value in rows})
    return hashes


def _existing(ws: Workspace, key: str) -> Anchor:
    """The anchor already stored under ``key``."""
    try:
        return _read(ws, key)[0]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise EngineError(
            f"mốc neo {key} đã có trong kho nhưng không đọc được",
            f"the anchor {key} is in the store but cannot be read",
            code="audit.anchor_unreadable",
            key=key,
        ) from exc


def _read(ws: Workspace, key: str) -> tuple[Anchor, bytes, bytes]:
    """The anchor as its statement says, with the signed bytes and the signature (unchecked).
    ValueError when the object is not an anchor."""
    body = json.loads(ws.store.get(key))
    text = body["statement"]
    statement: dict[str, Any] = json.loads(text)
    if statement.get("kind") != KIND:
        raise ValueError(f"kind {statement.get('kind')!r}")
    anchor = Anchor(
        seq=int(statement["seq"]),
        hash=str(statement["hash"]),
        anchored_at=datetime.fromisoformat(statement["anchored_at"]),
        timestamp=None,
        key=key,
    )
    return anchor, text.encode("utf-8"), base64.b64decode(body["signature"], validate=True)


def _checked(
    ws: Workspace, key: str, roots: list[bytes], agency_name: str
) -> tuple[Anchor | None, AnchorProblem | None]:
    seq = anchor_seq(key) or 0
    try:
        anchor, signed, signature = _read(ws, key)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        return None, AnchorProblem(
            seq,
            f"mốc neo #{seq} ({key}) hỏng: không đọc được",
            f"anchor #{seq} ({key}) is damaged: it cannot be read",
        )
    try:
        verdict = verify_bytes(signed, signature, trust_roots=roots)
    except VanthuError:
        verdict = None
    reasons: list[tuple[str, str]] = []
    if verdict is None:
        reasons.append(("chữ ký không đọc được", "the signature cannot be read"))
    else:
        reasons += zip(verdict.problems, verdict.problems_en, strict=True)
        if verdict.signer != agency_name:
            reasons.append(
                (
                    f"người ký là {verdict.signer}, không phải cơ quan",
                    f"signed by {verdict.signer}, not by the agency",
                )
            )
        if verdict.timestamp is None:
            reasons.append(("không có dấu thời gian", "it carries no timestamp"))
    if anchor.seq != seq:
        reasons.append(
            (f"ghi sự kiện #{anchor.seq}, khác tên tệp", f"it names event #{anchor.seq}")
        )
    if reasons:
        return None, AnchorProblem(
            seq,
            f"mốc neo #{seq} không đáng tin: " + "; ".join(vi for vi, _ in reasons),
            f"anchor #{seq} cannot be trusted: " + "; ".join(en for _, en in reasons),
        )
    assert verdict is not None
    return Anchor(anchor.seq, anchor.hash, anchor.anchored_at, verdict.timestamp, key), None
