"""What people read about a dossier: the desk's full view with its control sheet, the public
look-up (no personal data), and the dossiers' deadlines for the on-time report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, select

from engine.core.calendar import VIETNAM_TIME
from engine.core.models import (
    Agency,
    Document,
    Dossier,
    DossierComponent,
    DossierHandover,
    Task,
    Unit,
    User,
    WorkflowInstance,
)
from engine.core.workspace import Workspace
from engine.onestop.dossiers import _dossier
from engine.onestop.procedures import RESULT_KINDS
from engine.onestop.states import CHANNELS, STATE_NAMES, DossierState
from engine.workflow.files import files_of_kind, newest_file
from engine.workflow.ontime import Tracked


@dataclass(frozen=True)
class HandoverLine:
    """One line of the control sheet (Mẫu 06)."""

    handed_at: datetime
    from_name: str
    to_name: str | None
    due_at: datetime | None
    done_at: datetime | None
    outcome: str | None
    """'trước hạn', 'đúng hạn', 'quá hạn', or None while open."""
    note: str | None
    kind: str


@dataclass(frozen=True)
class ComponentLine:
    name: str
    originals: int
    copies: int
    missing: bool


@dataclass(frozen=True)
class DossierView:
    """A dossier as the desk and the handling unit see it."""

    code: str
    document_id: int
    procedure_code: str
    procedure_name: str
    unit: str
    applicant: str
    address: str
    phone: str
    channel: int
    channel_name: str
    state: int
    """The portal code, 1…10."""
    state_name: str
    reason: str | None
    filed_at: datetime
    received_at: datetime | None
    original_due_at: datetime | None
    due_at: datetime | None
    processed_at: datetime | None
    returned_at: datetime | None
    returned_to: str | None
    components: tuple[ComponentLine, ...]
    handovers: tuple[HandoverLine, ...]
    agency_code: str
    agency_name: str
    parent_agency: str | None
    place: str
    result: ResultInfo | None = None
    """The result once attached: its kind, file, number and signer."""
    fee_amount: int | None = None
    """Fees asked by the handling unit (đồng), when any."""
    fee_note: str | None = None
    fee_paid: int | None = None
    """Fees the desk recorded as paid (đồng)."""
    fee_receipt: str | None = None
    fee_paid_at: datetime | None = None
    apologies: tuple[str, ...] = ()
    """The signed apology letters' file names, oldest first."""


@dataclass(frozen=True)
class ResultInfo:
    """A dossier's result as the desk sees it."""

    kind: str
    """'decision' (numbered and sealed) or 'document' (signed only)."""
    kind_name: str
    version: int
    """The draft's version (a result returned to the specialist gets a new one)."""
    draft: str
    """The file the specialist attached."""
    signed: bool
    signer: str | None
    """Who signed it (full name)."""
    issued: str | None
    """The issued PDF's file name, once issued."""
    symbol: str | None
    """A decision's number and symbol ('01/QĐ-SNV'), once numbered."""


@dataclass(frozen=True)
class PublicStatus:
    """The public look-up: nothing that names or reaches the applicant."""

    code: str
    procedure: str
    state: int
    state_name: str
    received_at: datetime | None
    due_at: datetime | None


def _outcome(line: DossierHandover) -> str | None:
    if line.done_at is None or line.due_at is None or line.kind == "apology":
        return None
    if line.done_at > line.due_at:
        return "quá hạn"
    local = VIETNAM_TIME
    if line.done_at.astimezone(local).date() < line.due_at.astimezone(local).date():
        return "trước hạn"
    return "đúng hạn"


def dossier_view(ws: Workspace, code: str) -> DossierView:
    with Session(ws.db) as session:
        dossier = _dossier(session, code)
        unit = session.get(Unit, dossier.unit_id)
        agency = session.get(Agency, dossier.agency_id)
        assert unit is not None and agency is not None and dossier.id is not None
        components = session.exec(
            select(DossierComponent)
            .where(DossierComponent.dossier_id == dossier.id)
            .order_by(col(DossierComponent.id))
        ).all()
        lines = session.exec(
            select(DossierHandover)
            .where(DossierHandover.dossier_id == dossier.id)
            .order_by(col(DossierHandover.id))
        ).all()
        return DossierView(
            code=dossier.code,
            document_id=dossier.document_id,
            procedure_code=dossier.procedure_code,
            procedure_name=dossier.procedure_name,
            unit=unit.name,
            applicant=dossier.applicant,
            address=dossier.applicant_address,
            phone=dossier.applicant_phone,
            channel=dossier.channel,
            channel_name=CHANNELS.get(dossier.channel, str(dossier.channel)),
            state=dossier.state,
            state_name=STATE_NAMES[DossierState(dossier.state)],
            reason=dossier.reason,
            filed_at=dossier.filed_at,
            received_at=dossier.received_at,
            original_due_at=dossier.original_due_at,
            due_at=dossier.due_at,
            processed_at=dossier.processed_at,
            returned_at=dossier.returned_at,
            returned_to=dossier.returned_to,
            components=tuple(
                ComponentLine(c.name, c.originals, c.copies, c.missing) for c in components
            ),
            handovers=tuple(
                HandoverLine(
                    line.handed_at,
                    line.from_name,
                    line.to_name,
                    line.due_at,
                    line.done_at,
                    _outcome(line),
                    line.note,
                    line.kind,
                )
                for line in lines
            ),
            agency_code=agency.code,
            agency_name=agency.name,
            parent_agency=agency.parent_name,
            place=agency.place,
            result=_result(session, dossier),
            fee_amount=dossier.fee_amount,
            fee_note=dossier.fee_note,
            fee_paid=dossier.fee_paid,
            fee_receipt=dossier.fee_receipt,
            fee_paid_at=dossier.fee_paid_at,
            apologies=tuple(
                f.filename for f in files_of_kind(session, dossier.document_id, "apology")
            ),
        )


def _result(session: Session, dossier: Dossier) -> ResultInfo | None:
    draft = newest_file(session, dossier.document_id, "draft")
    if dossier.result_kind is None or draft is None:
        return None
    signed = newest_file(session, dossier.document_id, "signed")
    if signed is not None and signed.version != draft.version:
        signed = None  # an older version was signed, then the result returned
    issued = newest_file(session, dossier.document_id, "issued") if signed else None
    signer = session.get(User, signed.created_by) if signed and signed.created_by else None
    document = session.get(Document, dossier.document_id)
    return ResultInfo(
        kind=dossier.result_kind,
        kind_name=RESULT_KINDS.get(dossier.result_kind, dossier.result_kind),
        version=draft.version,
        draft=draft.filename,
        signed=signed is not None,
        signer=signer.full_name if signer else None,
        issued=issued.filename if issued else None,
        symbol=document.symbol if document else None,
    )


def public_status(ws: Workspace, code: str) -> PublicStatus:
    """What anyone with the code may read: procedure, state, received and appointment dates."""
    with Session(ws.db) as session:
        dossier = _dossier(session, code)
        return PublicStatus(
            code=dossier.code,
            procedure=dossier.procedure_name,
            state=dossier.state,
            state_name=STATE_NAMES[DossierState(dossier.state)],
            received_at=dossier.received_at,
            due_at=dossier.due_at,
        )


def dossier_tracked(ws: Workspace, start: date, end: date, unit: str | None) -> list[Tracked]:
    """The dossiers received from ``start`` to ``end`` (Vietnam days, inclusive), in ``unit``
    (its name) or all, for the on-time report. Due: the ORIGINAL appointment (an apology's new
    date does not make a late dossier on time); done: when the result was signed."""
    low = datetime.combine(start, time(0), tzinfo=VIETNAM_TIME)
    high = datetime.combine(end + timedelta(days=1), time(0), tzinfo=VIETNAM_TIME)
    with Session(ws.db) as session:
        rows = session.exec(
            select(Dossier, Unit)
            .join(Unit, col(Unit.id) == Dossier.unit_id)
            .where(
                col(Dossier.received_at).is_not(None),
                col(Dossier.received_at) >= low,
                col(Dossier.received_at) < high,
            )
            .order_by(col(Dossier.id))
        ).all()
        people = _specialists(session, [d.document_id for d, _ in rows])
    found: list[Tracked] = []
    for dossier, handling in rows:
        if unit is not None and handling.name != unit:
            continue
        if dossier.received_at is None or dossier.original_due_at is None:
            continue
        found.append(
            Tracked(
                kind="dossier",
                unit=handling.name,
                person=people.get(dossier.document_id),
                received_at=dossier.received_at,
                due_at=dossier.original_due_at,
                done_at=dossier.processed_at,
            )
        )
    return found


def _specialists(session: Session, document_ids: list[int]) -> dict[int, str]:
    """The person handling each dossier: the specialist of its latest 'process' task, else the
    head it was handed to."""
    if not document_ids:
        return {}
    found: dict[int, str] = {}
    for document_id, step, user in session.exec(
        select(WorkflowInstance.document_id, Task.step_id, User)
        .join(Task, col(Task.instance_id) == WorkflowInstance.id)
        .join(User, col(User.id) == Task.user_id)
        .where(
            col(WorkflowInstance.document_id).in_(document_ids),
            col(Task.step_id).in_(("assign", "process")),
            Task.state != "cancelled",
        )
        .order_by(col(Task.id))
    ).all():
        if step == "process" or document_id not in found:
            found[document_id] = user.full_name
    return found
