"""Database tables. SQLModel for persistence only; values passed around are dataclasses.

Times are stored in UTC; what users see is shown in Vietnam time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from vanthu import clock


def utcnow() -> datetime:
    return clock.now()


class Agency(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=20)  # "SNV", used in symbols: 05/QĐ-SNV
    name: str = Field(max_length=200)  # "SỞ NỘI VỤ"
    parent_name: str | None = Field(default=None, max_length=200)  # "ỦY BAN NHÂN DÂN TỈNH MẪU"
    place: str = Field(max_length=100)  # "Hà Nội"
    leader_title: str = Field(default="GIÁM ĐỐC", max_length=100)  # head of agency, for "KT. …"
    organ_id: str | None = Field(default=None, max_length=64)  # mã định danh, for the exchange


class Unit(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("agency_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id")
    code: str = Field(max_length=20)  # "VP", "PC", "TCCB"
    name: str = Field(max_length=200)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    full_name: str = Field(max_length=200)
    role: str = Field(max_length=20, index=True)
    unit_id: int = Field(foreign_key="unit.id")
    title: str = Field(max_length=100)  # "Phó Giám đốc"
    active: bool = True
    password_hash: str | None = Field(default=None, max_length=255)  # argon2id; None: no login
    password_set_at: datetime | None = None
    totp_secret: str | None = Field(default=None, max_length=64)  # base32; None: no second factor
    totp_last_step: int | None = None  # the last accepted code's time step: never accepted twice
    email: str | None = Field(default=None, max_length=254)  # reminders (migration 0014)


class Register(SQLModel, table=True):
    """A register (sổ đăng ký): one number sequence per year."""

    __table_args__ = (UniqueConstraint("agency_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id")
    code: str = Field(max_length=20)
    name: str = Field(max_length=200)
    direction: str = Field(max_length=10)  # outgoing | incoming
    type_abbr: str | None = Field(default=None, max_length=10)  # "QĐ"; None: every other type
    secret: bool = False  # sổ văn bản mật: classified documents only, one series (migration 0013)


class RegisterCounter(SQLModel, table=True):
    __tablename__ = "register_counter"
    register_id: int = Field(foreign_key="register.id", primary_key=True)
    year: int = Field(primary_key=True)
    last_number: int = 0


class Document(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("register_id", "year", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id")
    direction: str = Field(max_length=10)  # outgoing | incoming
    doc_type: str = Field(max_length=50)  # "Quyết định"
    type_abbr: str | None = Field(default=None, max_length=10)
    subject: str = Field(sa_column=Column(Text, nullable=False))
    unit_id: int = Field(foreign_key="unit.id")  # drafting (or handling) unit
    author_id: int = Field(foreign_key="user.id")
    signer_id: int | None = Field(default=None, foreign_key="user.id")
    recipients: str = Field(default="", sa_column=Column(Text, nullable=False))  # one per line
    urgency: str | None = Field(default=None, max_length=20)
    secrecy: str | None = Field(default=None, max_length=20)  # độ mật: Mật, Tối mật, Tuyệt mật
    register_id: int | None = Field(default=None, foreign_key="register.id")
    year: int | None = None
    number: int | None = None
    symbol: str | None = Field(default=None, max_length=60, index=True)  # "05/QĐ-SNV"
    issued_at: datetime | None = None
    sender: str | None = Field(default=None, max_length=200)  # incoming: issuing agency
    sender_symbol: str | None = Field(default=None, max_length=60)  # incoming: their "Số, ký hiệu"
    verification: str | None = Field(default=None, sa_column=Column(Text))  # JSON report
    created_at: datetime = Field(default_factory=utcnow)
    handling_due_at: datetime | None = None  # incoming: hạn xử lý, set at the leader's assign
    recalled_at: datetime | None = None  # outgoing: thu hồi by the sender, frozen (0017)
    recall_reason: str | None = Field(default=None, sa_column=Column(Text))


class DocumentFile(SQLModel, table=True):
    """Every version of every file of a document; none is ever overwritten."""

    __tablename__ = "document_file"
    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    kind: str = Field(max_length=20)  # draft | pdf | signed | issued | received
    version: int  # draft version the file derives from
    sha256: str = Field(max_length=64)
    size: int
    filename: str = Field(max_length=255)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    comment: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)


class WorkflowInstance(SQLModel, table=True):
    __tablename__ = "workflow_instance"
    id: int | None = Field(default=None, primary_key=True)
    definition: str = Field(max_length=64)
    definition_digest: str = Field(max_length=64)
    document_id: int = Field(foreign_key="document.id", unique=True)
    initiator_id: int = Field(foreign_key="user.id")
    status: str = Field(default="active", max_length=10)  # active | done
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


OPEN_TASK = "state = 'open'"
OPEN_ROLE_TASK = "state = 'open' AND user_id IS NULL"


class Task(SQLModel, table=True):
    """A human step waiting in an inbox: for one person, or for anyone with a role (in a unit).

    Two partial indexes over open tasks only find an inbox (engine.workflow.inbox, migration
    0010): a person's own tasks, and those for their role (in their unit)."""

    __table_args__ = (
        Index(  # id last: a page of an inbox is read in index order (migration 0011)
            "ix_task_open_person",
            "user_id",
            "due_at",
            "id",
            sqlite_where=text(OPEN_TASK),
            postgresql_where=text(OPEN_TASK),
        ),
        Index(
            "ix_task_open_role",
            "role",
            "unit_id",
            "due_at",
            "id",
            sqlite_where=text(OPEN_ROLE_TASK),
            postgresql_where=text(OPEN_ROLE_TASK),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    instance_id: int = Field(foreign_key="workflow_instance.id", index=True)
    step_id: str = Field(max_length=64)
    parallel_step: str | None = Field(default=None, max_length=64)  # set on a branch's task
    role: str = Field(max_length=20)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    user_id: int | None = Field(default=None, foreign_key="user.id")
    state: str = Field(default="open", max_length=10, index=True)  # open | done | cancelled
    due_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    completed_at: datetime | None = None
    completed_by: int | None = Field(default=None, foreign_key="user.id")
    action: str | None = Field(default=None, max_length=20)
    comment: str | None = Field(default=None, sa_column=Column(Text))
    chosen_user_id: int | None = Field(default=None, foreign_key="user.id")


class OutboxItem(SQLModel, table=True):
    """An automated step waiting to run: queued in the same transaction as the action."""

    __tablename__ = "outbox_item"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=120)  # idempotency: instance, step and visit
    instance_id: int = Field(foreign_key="workflow_instance.id", index=True)
    document_id: int = Field(foreign_key="document.id")
    step_id: str = Field(max_length=64)
    run: str = Field(max_length=64)
    state: str = Field(default="pending", max_length=10, index=True)  # pending|running|done|failed
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    available_at: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    duration_ms: float | None = None
    claimed_host: str | None = Field(default=None, max_length=255)  # the last claim's machine
    claimed_pid: int | None = None  # and process: `vanthu steps recover` hands back dead ones


class DefinitionVersion(SQLModel, table=True):
    """A workflow definition's YAML as an instance started on it, kept by its SHA-256: a
    document in progress stays on that version after the file changes."""

    __tablename__ = "workflow_definition_version"
    digest: str = Field(primary_key=True, max_length=64)  # WorkflowInstance.definition_digest
    name: str = Field(max_length=64, index=True)
    version: int
    source: str = Field(sa_column=Column(Text, nullable=False))  # the file it was read from
    yaml: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """Append-only; each event carries the hash of the one before it."""

    __tablename__ = "audit_event"
    seq: int = Field(primary_key=True)
    at: datetime
    actor: str = Field(max_length=64)
    event: str = Field(max_length=40)
    document_id: int | None = None
    step: str | None = Field(default=None, max_length=64)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    channel: str | None = Field(default=None, max_length=10)  # cli|api|web|worker|system
    os_user: str | None = Field(default=None, max_length=64)  # the CLI's operating-system user


class AuditHead(SQLModel, table=True):
    """One row: the newest event. Locking it serialises appends, so the chain never forks."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(default="0" * 64, max_length=64)


class ArchiveFile(SQLModel, table=True):
    """A case file (hồ sơ): the records of one matter, kept and transferred together.

    Fields follow the case-file metadata of Thông tư 05/2025/TT-BNV; a closed file never changes.
    """

    __tablename__ = "archive_file"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=60)  # "2026.VP.01" (năm.đơn vị.số)
    title: str = Field(sa_column=Column(Text, nullable=False))
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    retention_years: int | None = None  # None: Vĩnh viễn (permanent)
    access: str = Field(default="public", max_length=10)  # public | restricted
    language: str = Field(default="vi", max_length=10)
    keywords: str = Field(default="", sa_column=Column(Text, nullable=False))
    state: str = Field(default="open", max_length=10, index=True)  # open | closed
    opened_by: str = Field(max_length=64)
    opened_at: datetime = Field(default_factory=utcnow)
    closed_by: str | None = Field(default=None, max_length=64)
    closed_at: datetime | None = None


class ArchiveRecord(SQLModel, table=True):
    """The database index of an archived record; the store keeps the record itself.

    Every column here is also in the record's metadata JSON in the store, so the store alone
    rebuilds this table (`vanthu archive reindex`).
    """

    __tablename__ = "archive_record"
    id: int | None = Field(default=None, primary_key=True)
    record_id: str = Field(unique=True, max_length=100)
    document_id: int | None = Field(default=None, foreign_key="document.id", unique=True)
    direction: str = Field(default="outgoing", max_length=10)  # outgoing | incoming
    agency_code: str = Field(default="", max_length=20, index=True)  # issuing agency
    agency_name: str = Field(default="", max_length=200)
    register_name: str | None = Field(default=None, max_length=200)
    number: int | None = Field(default=None, index=True)
    symbol: str | None = Field(default=None, max_length=60, index=True)
    doc_type: str = Field(max_length=50, index=True)
    subject: str = Field(sa_column=Column(Text, nullable=False))
    signer: str | None = Field(default=None, max_length=200)
    issued_at: datetime | None = Field(default=None, index=True)
    pages: int | None = None
    language: str = Field(default="vi", max_length=10)
    retention_years: int | None = None  # None: Vĩnh viễn (permanent)
    retain_until: datetime | None = None  # None: permanent
    access: str = Field(default="public", max_length=10)  # public | restricted
    signature_verdict: str = Field(default="unsigned", max_length=20)
    file_id: int | None = Field(default=None, foreign_key="archive_file.id", index=True)
    pdf_sha256: str = Field(max_length=64)
    search_text: str = Field(sa_column=Column(Text, nullable=False))  # diacritics folded
    archived_at: datetime = Field(default_factory=utcnow)
    disposed_at: datetime | None = None  # set by the disposal workflow; objects are gone then


class Disposal(SQLModel, table=True):
    """A proposal to dispose of expired records (tờ trình hủy tài liệu hết giá trị).

    The proposal is a document of type "Tờ trình" running the 'disposal' workflow; once carried
    out, the disposal record (biên bản hủy) is kept here and in the store for ever.
    """

    __tablename__ = "disposal"
    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", unique=True)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    proposed_by: str = Field(max_length=64)
    proposed_at: datetime = Field(default_factory=utcnow)
    state: str = Field(default="proposed", max_length=10, index=True)  # proposed | disposed
    disposed_at: datetime | None = None
    record_id: str | None = Field(default=None, max_length=100)  # the biên bản in the store
    record_sha256: str | None = Field(default=None, max_length=64)
    record_json: str | None = Field(default=None, sa_column=Column(Text))  # the biên bản itself


class DisposalItem(SQLModel, table=True):
    """One archive record listed in a disposal proposal."""

    __tablename__ = "disposal_item"
    __table_args__ = (UniqueConstraint("disposal_id", "record_id"),)
    id: int | None = Field(default=None, primary_key=True)
    disposal_id: int = Field(foreign_key="disposal.id", index=True)
    record_id: str = Field(max_length=100, index=True)  # ArchiveRecord.record_id


class ArchiveText(SQLModel, table=True):
    """A record's full text and its search tokens (engine/search.py). The full-text index over
    ``tokens`` (SQLite FTS5 table ``archive_fts``, PostgreSQL column ``tsv`` with a GIN index)
    is created by migration 0005 and is not part of this model."""

    __tablename__ = "archive_text"
    record_pk: int = Field(primary_key=True, foreign_key="archive_record.id")
    tokens: str = Field(sa_column=Column(Text, nullable=False))  # ASCII tokens, see search.py
    body: str = Field(sa_column=Column(Text, nullable=False))  # as extracted, NFC


class SigningCertificate(SQLModel, table=True):
    """A person's certificate registered by their signing agent; the key stays on the token.

    The newest active registration of a user is the one the server prepares signatures for.
    """

    __tablename__ = "signing_certificate"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    serial: str = Field(max_length=64)  # hexadecimal
    fingerprint: str = Field(max_length=64, index=True)  # SHA-256 of the DER certificate
    subject: str = Field(max_length=400)
    pem: str = Field(sa_column=Column(Text, nullable=False))  # certificate, then its CA chain
    registered_at: datetime = Field(default_factory=utcnow)
    active: bool = True


class SignRequest(SQLModel, table=True):
    """A leader's signature prepared by the server, waiting for their signing agent.

    ``prepared`` is the interrupted signature's state (JSON, signing.PreparedSignature.state);
    the prepared PDF itself is in the store under ``prepared_sha256``.
    """

    __tablename__ = "sign_request"
    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    task_id: int = Field(foreign_key="task.id")
    certificate_id: int = Field(foreign_key="signing_certificate.id")
    # waiting | signed | failed | cancelled
    state: str = Field(default="waiting", max_length=10, index=True)
    prepared: str = Field(sa_column=Column(Text, nullable=False))
    prepared_sha256: str = Field(max_length=64)
    digest: str = Field(max_length=64)  # hex SHA-256 the token signs
    comment: str | None = Field(default=None, sa_column=Column(Text))  # the leader's, for the task
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))


class AgentToken(SQLModel, table=True):
    """A bearer token of a signing agent. Only its SHA-256 is kept; it acts for one user."""

    __tablename__ = "agent_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class WebSession(SQLModel, table=True):
    """A signed-in browser. Only the SHA-256 of its random id is kept; the id lives in the
    browser's cookie. ``stage`` is ``totp`` between the password and the second factor."""

    __tablename__ = "web_session"
    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    stage: str = Field(default="active", max_length=10)  # active | totp
    csrf_token: str = Field(max_length=64)
    address: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    flash: str | None = Field(default=None, sa_column=Column(Text))  # JSON list, shown once


class LoginAttempt(SQLModel, table=True):
    """A password or second-factor check at login, kept for throttling."""

    __tablename__ = "login_attempt"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    address: str = Field(max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    succeeded: bool = False


class SigningAuthority(SQLModel, table=True):
    """Who signs for whom: a signer's authority line above their title (Decree 30, Appendix I:
    ``KT. GIÁM ĐỐC``, ``TL. GIÁM ĐỐC``, ``TUQ. GIÁM ĐỐC``), set by an administrator. A signer
    without a row signs ``KT.`` the agency head's title when theirs differs from it."""

    __tablename__ = "signing_authority"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", unique=True)
    prefix: str = Field(max_length=10)  # KT. | TL. | TUQ. | Q. | TM.
    on_behalf_of: str = Field(max_length=100)  # "Giám đốc": the title signed for
    set_by: str = Field(max_length=64)
    set_at: datetime = Field(default_factory=utcnow)


class ExchangePeer(SQLModel, table=True):
    """Another agency documents are exchanged with (edXML): its organ id (mã định danh), where
    it answers, and its agency certificate, pinned: only envelopes it signed are accepted."""

    __tablename__ = "exchange_peer"
    id: int | None = Field(default=None, primary_key=True)
    organ_id: str = Field(unique=True, max_length=64)  # "000.00.00.H41"
    name: str = Field(max_length=200)
    url: str = Field(max_length=500)  # base URL; envelopes are POSTed to <url>/exchange/edxml
    certificate: str = Field(sa_column=Column(Text, nullable=False))  # PEM, then its CA chain
    added_at: datetime = Field(default_factory=utcnow)
    active: bool = True


class ExchangeMessage(SQLModel, table=True):
    """One edXML envelope or status message, sent or received; the envelope itself is in the
    store under ``sha256``. An outgoing one waits in ``state`` pending until delivered."""

    __tablename__ = "exchange_message"
    __table_args__ = (UniqueConstraint("direction", "message_id"),)
    id: int | None = Field(default=None, primary_key=True)
    direction: str = Field(max_length=3)  # out | in
    peer: str = Field(max_length=64, index=True)  # the other side's organ id
    kind: str = Field(max_length=10)  # document | status
    document_id: int | None = Field(default=None, foreign_key="document.id", index=True)
    edxml_document_id: str = Field(max_length=200, index=True)  # "<OrganId>,<yyyy/MM/dd>,<số>"
    business: str = Field(default="new", max_length=12)  # new | recall | update | replacement
    status_code: str | None = Field(default=None, max_length=2)  # for a status message
    reason: str | None = Field(default=None, sa_column=Column(Text))
    message_id: str = Field(max_length=64)
    sha256: str = Field(max_length=64)  # the envelope in the store
    # out: pending | sent | failed | refused; in: received
    state: str = Field(default="pending", max_length=10, index=True)
    attempts: int = 0
    available_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    received_at: datetime | None = None


class ExchangeInbound(SQLModel, table=True):
    """An incoming document that arrived by the exchange: its sender's DocumentId (one arrival
    per DocumentId, a second is refused) and where it stands (registered, rejected, withdrawn,
    replaced)."""

    __tablename__ = "exchange_inbound"
    id: int | None = Field(default=None, primary_key=True)
    edxml_document_id: str = Field(unique=True, max_length=200)
    document_id: int = Field(foreign_key="document.id", unique=True)
    sender: str = Field(max_length=64, index=True)  # the sender's organ id
    state: str = Field(default="received", max_length=10)  # received|rejected|withdrawn|replaced
    request: str | None = Field(default=None, max_length=12)  # recall | replacement, while asked
    request_reason: str | None = Field(default=None, sa_column=Column(Text))
    replacement_message: int | None = Field(default=None, foreign_key="exchange_message.id")


class Reminder(SQLModel, table=True):
    """A deadline reminder to one person (migration 0014): the morning digest, a warning before
    a task's due time, an escalation to the unit head. ``key`` makes each one sent once."""

    __tablename__ = "reminder"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=120)  # "digest:<user>:<day>", "warning:<task>", …
    kind: str = Field(max_length=12)  # digest | warning | escalation
    user_id: int = Field(foreign_key="user.id", index=True)  # who receives it
    task_id: int | None = Field(default=None, foreign_key="task.id")
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(default="pending", max_length=10)  # pending | sent | failed | no_email
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, index=True)
    sent_at: datetime | None = None


class Dossier(SQLModel, table=True):
    """A citizen's dossier at the one-stop desk (hồ sơ thủ tục hành chính, engine.onestop).

    It runs the 'mot_cua' workflow through a Document of direction ``dossier``; ``state`` is
    the national portal's code (1…10). ``original_due_at`` is the appointment given at receipt
    and never moves: an apology's new date goes to ``due_at`` and the dossier still counts late
    (migration 0015)."""

    __tablename__ = "dossier"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=60)  # "SNV-261205-0001"
    document_id: int = Field(foreign_key="document.id", unique=True)
    agency_id: int = Field(foreign_key="agency.id")
    procedure_code: str = Field(max_length=40, index=True)
    procedure_name: str = Field(sa_column=Column(Text, nullable=False))
    unit_id: int = Field(foreign_key="unit.id")  # the handling unit
    applicant: str = Field(max_length=200)
    applicant_address: str = Field(default="", max_length=300)
    applicant_phone: str = Field(default="", max_length=30)
    channel: int = 1  # 1 in person, 2 online, 3 public post
    state: int = Field(default=1, index=True)  # portal code 1…10
    reason: str | None = Field(default=None, sa_column=Column(Text))  # refusal, completion asked
    filed_at: datetime = Field(default_factory=utcnow)
    received_at: datetime | None = None
    original_due_at: datetime | None = None
    due_at: datetime | None = None
    processed_at: datetime | None = None
    returned_at: datetime | None = None
    returned_to: str | None = Field(default=None, max_length=200)  # who signed for the result
    # migration 0016: the result's kind (procedure data) once attached, and the fees (state 6)
    result_kind: str | None = Field(default=None, max_length=20)  # decision | document
    fee_amount: int | None = None  # đồng, asked by the handling unit
    fee_note: str | None = Field(default=None, sa_column=Column(Text))
    fee_paid: int | None = None  # đồng, recorded at the desk
    fee_receipt: str | None = Field(default=None, max_length=60)  # biên lai số
    fee_paid_at: datetime | None = None


class DossierComponent(SQLModel, table=True):
    """One paper of a dossier as checked at the desk against the procedure's list."""

    __tablename__ = "dossier_component"
    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(foreign_key="dossier.id", index=True)
    name: str = Field(sa_column=Column(Text, nullable=False))
    originals: int = 0
    copies: int = 0
    missing: bool = False


class DossierHandover(SQLModel, table=True):
    """One line of the processing control sheet (phiếu kiểm soát, Mẫu 06): who handed the
    dossier to whom, when, by when the receiver must be done, and when they were."""

    __tablename__ = "dossier_handover"
    id: int | None = Field(default=None, primary_key=True)
    dossier_id: int = Field(foreign_key="dossier.id", index=True)
    kind: str = Field(max_length=100)  # "<step>.<action>" of the workflow, or "apology"
    from_name: str = Field(max_length=300)  # "Bộ phận một cửa (Hoàng Thị Hoa)"
    to_name: str | None = Field(default=None, max_length=300)
    handed_at: datetime = Field(default_factory=utcnow)
    due_at: datetime | None = None
    done_at: datetime | None = None
    note: str | None = Field(default=None, sa_column=Column(Text))


class SavedSearch(SQLModel, table=True):
    """A search of the archive a person saved under a name (its filters as JSON); private to
    its owner, or shared with the owner's unit. Run, it shows only what the runner may see."""

    __tablename__ = "saved_search"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="user.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)  # the owner's unit, for sharing
    name: str = Field(max_length=100)
    query: str = Field(sa_column=Column(Text, nullable=False))  # the filters, JSON
    shared: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
