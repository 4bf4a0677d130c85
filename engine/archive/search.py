"""Full-text search over archive records, the same results on SQLite and PostgreSQL.

Indexing: the record's subject, metadata and full text are cut into words in Python and
written to ``archive_text.tokens`` as a bag of ASCII tokens (letters and digits):

- each word folded: lower case, no diacritics, đ → d ("Quyết định" → ``quyet dinh``);
- each word with diacritics in its exact form, as a code (``zx…``: "bổ" and "bồ" differ);
- each pair of adjacent words, folded (``zb…``), so a phrase is found without word positions;
- the subject's words and pairs once more, marked (``zs…``, ``zp…``);
- the facts a record never changes: type, agency, signer, number, direction, year and month
  of issue (``zt…``, ``zg…``, ``zn…``, ``zk…``, ``zd…``, ``zy…``, ``zm…``), so those filters
  are answered by the index too (file, retention, access and exact dates are checked in SQL).

SQLite's FTS5 (``ascii`` tokenizer, ``detail=none``) and PostgreSQL's
``strip(to_tsvector('simple', tokens))`` with a GIN index cut that string into exactly the same
tokens, and every question asked of them is a plain AND / NOT of tokens, so both engines find
exactly the same records.

Ranking: a record is found when it holds every folded query word and passes the filters. Its
score adds, for facts both engines answer from the index alone:

- 8: every query word is there in the exact form typed (only counts when the query has
  diacritics: "bổ nhiệm" puts "bổ nhiệm" above "bồ nhiềm" and "bo nhiem");
- 4: the subject (trích yếu) holds the query as a phrase (every adjacent pair);
- 2: the text or metadata hold the query as a phrase (every adjacent pair);
- 1: the subject holds every query word.

Ties go to the most recently archived record first (the higher record key). Results are read
tier by tier (highest score first), each tier newest first with a LIMIT, so a query that
matches most of the archive stops after one page instead of sorting every match; the total is
counted exactly up to ``COUNT_CAP`` and reported as "more than" beyond. A tier is asked as
"every token of its facts", without "and not the facts of a better tier": the records of better
tiers are already ranked and are dropped from its page, the same answer at the cost of an AND.
On PostgreSQL each of those reads takes a window of the newest matches from the index alone
(``archive_text_recent``: recency spans, migrations 0018 and 0019) and checks the filters on
that window in the same statement (``_window``), falling back to the join when a filter lets too
few through. On both, a filter that lets few records through (a case file) ranks those records
against every tier at once (``_narrow``).

Snippets and highlights are cut in Python from the stored text, so both engines show the same.
Restricted records (the record's or its file's access is "restricted") are only found by the
roles ``engine.archive.records.may_see_restricted`` names.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise, product
from typing import Any

from sqlalchemy import select as sa_select
from sqlalchemy import text as sql
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, select

from engine.archive.records import may_see_restricted
from engine.core.doctypes import document_types
from engine.core.errors import InvalidInput
from engine.core.models import ArchiveFile, ArchiveRecord, ArchiveText
from engine.core.text import VIETNAM, fold
from engine.core.users import user_named
from engine.core.workspace import Workspace

MAX_WORDS = 20_000
"""Words of full text indexed per record; a longer text is indexed up to there."""
MAX_TOKEN = 60
"""Longer 'words' (hashes, base64 …) are not indexed."""
MAX_LIMIT = 500
MAX_WINDOW = 2000
"""offset + limit may not go beyond this: a search is for finding, not for exporting."""
COUNT_CAP = 200
WINDOW_SLACK = 40
"""PostgreSQL reads ``2 × wanted + WINDOW_SLACK`` of the newest matches and checks the filters
on those only (engine.archive.search._window), falling back to a join when too few pass."""
SNIPPET_CHARS = 220
NARROW_CAP = 5000
"""The search tests the index entries of at most this many records a narrow filter lets
through (engine.archive.search._narrow); beyond, it asks the join."""
RECENCY_SPAN = 2000
"""Records per recency token: each entry carries ``zr<record key // RECENCY_SPAN>``, so
PostgreSQL reads the newest matches span by span from the GIN index (``archive_text_recent``,
migration 0018) instead of every match of a common word."""
SPANS = 8
"""Spans ``archive_text_recent`` reads at most before one bitmap scan of the rest (migration
0019)."""
WIDE_WINDOW = 4000
"""The widest window of newest matches PostgreSQL checks the filters on before the join."""

_WORD = re.compile(r"[^\W_]+")
_ASCII_TOKEN = re.compile(r"[a-z0-9]+")
_SCORE_EXACT, _SCORE_SUBJECT_PHRASE, _SCORE_PHRASE, _SCORE_SUBJECT_ALL = 8, 4, 2, 1


# --- tokens -------------------------------------------------------------------------------


def _code(word: str, prefix: str) -> str:
    digest = hashlib.blake2b(word.encode("utf-8"), digest_size=6).hexdigest()
    return prefix + "".join(chr(ord("a") + int(c, 16)) for c in digest)


@lru_cache(maxsize=200_000)
def word_tokens(word: str) -> tuple[str, str] | None:
    """(folded, exact) tokens of one word as the index stores them; None if not indexed.
    Cached: a Vietnamese text uses a few thousand distinct syllables."""
    lowered = unicodedata.normalize("NFC", word).lower()
    if len(lowered) > MAX_TOKEN:
        return None
    folded = fold(lowered)
    if not _ASCII_TOKEN.fullmatch(folded):
        folded = _code(folded, "zu")  # letters outside Vietnamese and English
    exact = folded if lowered == folded else _code(lowered, "zx")
    return folded, exact


def tokenize(text: str) -> list[tuple[str, str]]:
    """The (folded, exact) token pairs of ``text``, in order."""
    found = map(word_tokens, _WORD.findall(unicodedata.normalize("NFC", text)))
    return [pair for pair in found if pair is not None]


def _pair(a: str, b: str, prefix: str = "zb") -> str:
    """One token for two adjacent folded words; the length keeps "ab c" apart from "a bc"."""
    return f"{prefix}{len(a)}{a}{b}"


def _pairs(folded: Sequence[str], prefix: str = "zb") -> list[str]:
    return [_pair(a, b, prefix) for a, b in pairwise(folded)]


def _metadata_text(record: ArchiveRecord, file_code: str | None) -> str:
    parts = [
        record.record_id,
        record.doc_type,
        record.symbol or "",
        str(record.number) if record.number is not None else "",
        record.agency_name,
        record.agency_code,
        record.register_name or "",
        record.signer or "",
        file_code or "",
    ]
    return " | ".join(p for p in parts if p)


def index_tokens(subject: str, metadata: Iterable[str], text: str) -> str:
    """The index string for a record: folded words, exact forms, adjacent pairs, subject marks.
    Each piece of metadata is its own phrase (no pair runs from one field into the next)."""
    fields = [tokenize(subject), *(tokenize(m) for m in metadata), tokenize(text)[:MAX_WORDS]]
    bag: set[str] = set()
    for words in fields:
        folded = [f for f, _ in words]
        bag.update(folded)
        bag.update(e for _, e in words)
        bag.update(_pairs(folded))
    subject_words = [f for f, _ in fields[0]]
    bag.update("zs" + f for f in subject_words)
    bag.update(_pairs(subject_words, "zp"))
    return " ".join(sorted(bag))


def index_entry(
    record: ArchiveRecord, text: str, *, file_code: str | None = None
) -> dict[str, Any]:
    """The ``archive_text`` row for ``record`` (for bulk loads with executemany)."""
    if record.id is None:
        raise ValueError("index_entry needs a record that has been flushed (record.id)")
    return keyed_entry(unkeyed_entry(record, text, file_code=file_code), record.id)


def unkeyed_entry(
    record: ArchiveRecord, text: str, *, file_code: str | None = None
) -> dict[str, Any]:
    """The row's tokens and text before the record has a key (bulk ingest prepares them in
    worker processes); :func:`keyed_entry` completes it once the record is inserted."""
    text = unicodedata.normalize("NFC", text)
    metadata = _metadata_text(record, file_code).split(" | ")
    facts = " ".join(fact_tokens(record))
    return {"tokens": f"{index_tokens(record.subject, metadata, text)} {facts}", "body": text}


def keyed_entry(entry: dict[str, Any], record_pk: int) -> dict[str, Any]:
    """``entry`` as the row of record ``record_pk``, with that key's recency token
    (``RECENCY_SPAN``): a wrong one hides the record from the span reads on PostgreSQL."""
    tokens = f"{entry['tokens']} zr{record_pk // RECENCY_SPAN}"
    return {**entry, "record_pk": record_pk, "tokens": tokens}


def _joined(value: str) -> str:
    return "".join(f for f, _ in tokenize(value))


def fact_tokens(record: ArchiveRecord) -> list[str]:
    """Tokens for the facts a record never changes after archiving (type, agency, signer,
    number, direction, month of issue), so the filters on them are answered by the index."""
    facts = ["zt" + _joined(record.doc_type), "zd" + record.direction]
    if record.agency_code:
        facts.append("zg" + _joined(record.agency_code))
    facts += ["zn" + f for f, _ in tokenize(record.signer or "")]
    if record.number is not None:
        facts.append(f"zk{record.number}")
    if record.issued_at is not None:
        local = _vietnam(record.issued_at)
        facts += [f"zy{local.year:04d}", f"zm{local.year:04d}{local.month:02d}"]
    return facts


def index_record(session: Session, record: ArchiveRecord, text: str) -> None:
    """Insert or replace ``record``'s entry in the full-text index, in ``session``'s
    transaction. ``text`` is the record's full text (engine.archive.extraction.extract_text)."""
    if record.id is None:
        session.add(record)
        session.flush()
    file_code = None
    if record.file_id is not None:
        archive_file = session.get(ArchiveFile, record.file_id)
        file_code = archive_file.code if archive_file is not None else None
    entry = index_entry(record, text, file_code=file_code)
    existing = session.get(ArchiveText, record.id)
    if existing is None:
        session.add(ArchiveText(**entry))
    else:
        for key, value in entry.items():
            setattr(existing, key, value)
        session.add(existing)
    session.flush()


def remove_from_index(session: Session, record_id: str) -> None:
    """Drop the record's entry from the full-text index (before the record itself goes)."""
    record = session.exec(select(ArchiveRecord).where(ArchiveRecord.record_id == record_id)).first()
    if record is None or record.id is None:
        return
    existing = session.get(ArchiveText, record.id)
    if existing is not None:
        session.delete(existing)
        session.flush()


def indexed_text(session: Session, record_id: str) -> str | None:
    """The full text stored for a record, None if it is not indexed."""
    record = session.exec(select(ArchiveRecord).where(ArchiveRecord.record_id == record_id)).first()
    if record is None or record.id is None:
        return None
    entry = session.get(ArchiveText, record.id)
    return entry.body if entry is not None else None


# --- queries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    """Free text and filters. Dates are calendar days in Vietnam time, both ends included.
    ``retention_years`` filters one retention class; ``permanent`` (True) the Vĩnh viễn one."""

    text: str = ""
    doc_type: str | None = None  # "Quyết định", "QĐ" or "quyet dinh"
    number: int | None = None
    symbol: str | None = None  # "05/QĐ-SNV", or a part of it
    date_from: date | None = None
    date_to: date | None = None
    agency_code: str | None = None
    signer: str | None = None  # words of the name ("tran thi"), diacritics optional
    file_code: str | None = None
    unit_code: str | None = None  # the unit of the case file holding the record
    retention_years: int | None = None
    permanent: bool | None = None
    direction: str | None = None  # outgoing | incoming
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True)
class Segment:
    """A piece of a snippet; ``match`` marks a query word."""

    text: str
    match: bool


@dataclass(frozen=True)
class SearchHit:
    record_id: str
    score: int
    doc_type: str
    number: int | None
    symbol: str | None
    subject: str
    issued_at: datetime | None
    agency_code: str
    agency_name: str
    signer: str | None
    direction: str
    file_code: str | None
    retention_years: int | None
    access: str
    pages: int | None
    subject_marked: tuple[Segment, ...]
    snippet: tuple[Segment, ...]

    def subject_text(self, start: str = "«", end: str = "»") -> str:
        return render(self.subject_marked, start, end)

    def snippet_text(self, start: str = "«", end: str = "»") -> str:
        return render(self.snippet, start, end)

    def to_json(self) -> dict[str, Any]:
        """Plain values for ``--json``: dates in ISO 8601, highlights as <mark> (HTML-escaped)."""
        data = asdict(self)
        del data["subject_marked"], data["snippet"]
        data["issued_at"] = self.issued_at.isoformat() if self.issued_at else None
        data["issued_date"] = (
            _vietnam(self.issued_at).date().isoformat() if self.issued_at else None
        )
        data["subject_html"] = render_html(self.subject_marked)
        data["snippet_html"] = render_html(self.snippet)
        data["snippet"] = self.snippet_text("", "")
        data["matches"] = sorted({s.text for s in self.snippet + self.subject_marked if s.match})
        return data


@dataclass(frozen=True)
class SearchResults:
    query: SearchQuery
    total: int
    """Matches counted; when ``total_exact`` is false there are more than this."""
    total_exact: bool = True
    hits: tuple[SearchHit, ...] = field(default_factory=tuple)


def render(segments: Sequence[Segment], start: str = "«", end: str = "»") -> str:
    return "".join(f"{start}{s.text}{end}" if s.match else s.text for s in segments)


def render_html(segments: Sequence[Segment]) -> str:
    return "".join(
        f"<mark>{html.escape(s.text)}</mark>" if s.match else html.escape(s.text) for s in segments
    )


@dataclass(frozen=True)
class _Terms:
    folded: tuple[str, ...]
    exact: tuple[str, ...]

    @property
    def diacritics(self) -> bool:
        return self.folded != self.exact

    def features(self) -> list[tuple[int, tuple[str, ...]]]:
        """(score, tokens that must all be present) for each ranking fact that applies."""
        facts: list[tuple[int, tuple[str, ...]]] = []
        if self.diacritics:
            facts.append((_SCORE_EXACT, tuple(dict.fromkeys(self.exact))))
        if len(self.folded) == 1:
            facts.append((_SCORE_SUBJECT_PHRASE, ("zs" + self.folded[0],)))
        else:
            facts.append((_SCORE_SUBJECT_PHRASE, tuple(_pairs(self.folded, "zp"))))
            facts.append((_SCORE_PHRASE, tuple(_pairs(self.folded))))
            facts.append((_SCORE_SUBJECT_ALL, tuple(dict.fromkeys("zs" + f for f in self.folded))))
        return facts


def _terms(text: str) -> _Terms:
    pairs = tokenize(text)
    return _Terms(tuple(f for f, _ in pairs), tuple(e for _, e in pairs))


def _tiers(terms: _Terms) -> list[tuple[int, list[tuple[str, ...]], list[tuple[str, ...]]]]:
    """(score, facts that hold, facts that do not) for every possible score, best first.
    Combinations that cannot happen (a subject phrase without the words in the subject or
    without the phrase anywhere) are left out."""
    facts = terms.features()
    tiers = []
    for held in product((True, False), repeat=len(facts)):
        scores = {score for (score, _), h in zip(facts, held, strict=True) if h}
        impossible = _SCORE_PHRASE not in scores or _SCORE_SUBJECT_ALL not in scores
        if _SCORE_SUBJECT_PHRASE in scores and len(terms.folded) > 1 and impossible:
            continue
        tiers.append(
            (
                sum(scores),
                [t for (_, t), h in zip(facts, held, strict=True) if h],
                [t for (_, t), h in zip(facts, held, strict=True) if not h],
            )
        )
    return sorted(tiers, key=lambda tier: -tier[0])


def _vietnam(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM)


def _day_start_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), VIETNAM).astimezone(UTC).replace(tzinfo=None)


def resolve_doc_type(value: str) -> str:
    """The Decree 30 type name for a name, an abbreviation or either without diacritics."""
    wanted = fold(value.strip())
    for name, abbr in document_types().items():
        if wanted == fold(name) or (abbr is not None and wanted == fold(abbr)):
            return name
    known = ", ".join(document_types())
    raise InvalidInput(
        f"không có loại văn bản '{value}' (các loại: {known})",
        f"there is no document type '{value}' (the types: {known})",
        code="search.doc_type_unknown",
        doc_type=value,
    )


class _Sql:
    """One statement's WHERE parts and parameters, for the dialect at hand."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self.narrow = False
        """Whether a filter only SQL answers lets few records through (then a window of
        full-text matches would mostly fail, see ``_window``)."""
        self.where: list[str] = []
        self.params: dict[str, Any] = {}

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def full_text(
        self,
        required: Sequence[str],
        absent: Sequence[Sequence[str]] = (),
        any_of: Sequence[Sequence[str]] = (),
    ) -> str:
        """The engine's query for: every token of ``required``, one token of each group in
        ``any_of``, and for each group in ``absent``, not all of that group's tokens."""
        if self.postgres:
            return f"t.tsv @@ {self.tsquery(required, absent, any_of)}"
        expression = " AND ".join(f'"{t}"' for t in required)
        for group in any_of:
            expression += " AND (" + " OR ".join(f'"{t}"' for t in group) + ")"
        for group in absent:
            expression += " NOT (" + " AND ".join(f'"{t}"' for t in group) + ")"
        return f"archive_fts MATCH {self.param(expression)}"

    def tsqueries(
        self,
        required: Sequence[str],
        absent: Sequence[Sequence[str]] = (),
        any_of: Sequence[Sequence[str]] = (),
    ) -> list[str]:
        """PostgreSQL's tsqueries that, all together, ask the same as ``full_text``: one a
        token, one a group. GIN walks a long AND of common words in one tsquery several times
        slower than as many conditions of one word each (``archive_text_recent``)."""
        return [
            f"to_tsquery('simple', {self.param(part)})" for part in _parts(required, absent, any_of)
        ]

    def tsquery(
        self,
        required: Sequence[str],
        absent: Sequence[Sequence[str]] = (),
        any_of: Sequence[Sequence[str]] = (),
    ) -> str:
        """PostgreSQL's one tsquery for the same question as ``full_text``, for a test row by
        row (each condition on ``tsv`` would fetch and decompress it again)."""
        return f"to_tsquery('simple', {self.param(' & '.join(_parts(required, absent, any_of)))})"


def _parts(
    required: Sequence[str], absent: Sequence[Sequence[str]], any_of: Sequence[Sequence[str]]
) -> list[str]:
    """The tsquery texts that, ANDed, ask for ``required``, ``any_of`` and not ``absent``."""
    parts = list(required)
    parts += ["(" + " | ".join(group) + ")" for group in any_of]
    parts += ["!(" + " & ".join(group) + ")" for group in absent]
    return parts


def _filter_tokens(query: SearchQuery) -> tuple[list[str], list[list[str]]]:
    """(tokens every match must have, groups of which a match must have one) for filters."""
    required: list[str] = []
    any_of: list[list[str]] = []
    if query.doc_type:
        required.append("zt" + _joined(resolve_doc_type(query.doc_type)))
    if query.number is not None:
        required.append(f"zk{query.number}")
    if query.agency_code and _joined(query.agency_code):
        required.append("zg" + _joined(query.agency_code))
    if query.signer:
        required += ["zn" + f for f, _ in tokenize(query.signer)]
    if query.direction:
        if query.direction not in ("outgoing", "incoming"):
            raise InvalidInput(
                f"chiều văn bản '{query.direction}' phải là outgoing hoặc incoming",
                f"document direction '{query.direction}' must be outgoing or incoming",
                code="search.direction_invalid",
                direction=query.direction,
            )
        required.append("zd" + query.direction)
    if query.date_from is not None or query.date_to is not None:
        first = query.date_from or date(1900, 1, 1)
        last = query.date_to or date(2200, 12, 31)
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        if months <= 36:
            any_of.append(
                [
                    f"zm{(first.year * 12 + first.month - 1 + i) // 12:04d}"
                    f"{(first.month - 1 + i) % 12 + 1:02d}"
                    for i in range(months)
                ]
            )
        elif last.year - first.year <= 60:
            any_of.append([f"zy{y:04d}" for y in range(first.year, last.year + 1)])
    return required, any_of


def _filters(q: _Sql, query: SearchQuery, *, restricted: bool) -> None:
    """The filters the index does not answer (or not exactly), as SQL on the record."""
    q.narrow = bool(
        query.symbol
        or query.file_code
        or query.unit_code
        or (query.agency_code and not _joined(query.agency_code))
    )
    if query.symbol:
        q.where.append(f"upper(r.symbol) LIKE {q.param('%' + _like(query.symbol.upper()) + '%')}")
        if not q.postgres:
            q.where[-1] += " ESCAPE '\\'"
    if query.date_from is not None:
        q.where.append(f"r.issued_at >= {q.param(_day_start_utc(query.date_from))}")
    if query.date_to is not None:
        end = _day_start_utc(query.date_to + timedelta(days=1))
        q.where.append(f"r.issued_at < {q.param(end)}")
    if query.agency_code and not _joined(query.agency_code):
        q.where.append(f"upper(r.agency_code) = {q.param(query.agency_code.strip().upper())}")
    if query.file_code:
        code = q.param(query.file_code.strip())
        q.where.append(f"r.file_id IN (SELECT id FROM archive_file WHERE code = {code})")
    if query.unit_code:
        unit = q.param(query.unit_code.strip().upper())
        q.where.append(
            "r.file_id IN (SELECT f.id FROM archive_file f JOIN unit u ON u.id = f.unit_id"
            f" WHERE upper(u.code) = {unit})"
        )
    if query.permanent:
        q.where.append("r.retention_years IS NULL")
    elif query.retention_years is not None:
        q.where.append(f"r.retention_years = {q.param(query.retention_years)}")
    q.where.append("r.disposed_at IS NULL")  # disposed: the objects are gone
    if not restricted:
        q.where.append("r.access <> 'restricted'")
        q.where.append(
            "(r.file_id IS NULL OR r.file_id NOT IN "
            "(SELECT id FROM archive_file WHERE access = 'restricted'))"
        )


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _validate(query: SearchQuery) -> None:
    if not 1 <= query.limit <= MAX_LIMIT:
        raise InvalidInput(
            f"số kết quả (--limit) phải từ 1 đến {MAX_LIMIT}, nhận {query.limit}",
            f"the number of results (--limit) must be from 1 to {MAX_LIMIT}, got {query.limit}",
            code="search.limit_invalid",
            limit=query.limit,
        )
    if query.offset < 0:
        raise InvalidInput(
            f"vị trí bắt đầu (offset) không được âm, nhận {query.offset}",
            f"the starting position (offset) may not be negative, got {query.offset}",
            code="search.offset_invalid",
            offset=query.offset,
        )
    if query.offset + query.limit > MAX_WINDOW:
        raise InvalidInput(
            f"chỉ xem được {MAX_WINDOW} kết quả đầu; thu hẹp câu tìm hoặc thêm bộ lọc",
            f"only the first {MAX_WINDOW} results can be seen; narrow the query or add filters",
            code="search.window_exceeded",
            offset=query.offset,
            limit=query.limit,
        )
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise InvalidInput(
            f"ngày bắt đầu {query.date_from:%d/%m/%Y} sau ngày kết thúc {query.date_to:%d/%m/%Y}",
            f"the start date {query.date_from:%d/%m/%Y} is after the end date"
            f" {query.date_to:%d/%m/%Y}",
            code="search.date_invalid",
            date_from=query.date_from.isoformat(),
            date_to=query.date_to.isoformat(),
        )
    if query.retention_years is not None and query.retention_years <= 0:
        raise InvalidInput(
            f"thời hạn bảo quản phải là số năm dương, nhận {query.retention_years}",
            f"the retention period must be a positive number of years, got {query.retention_years}",
            code="search.retention_invalid",
            retention_years=query.retention_years,
        )


_Match = tuple[list[str], list[list[str]], list[list[str]]]
"""A full-text condition: (required tokens, groups not all present, groups one present)."""


def run_search(engine: Engine, query: SearchQuery, *, restricted: bool) -> SearchResults:
    """The search itself, for a caller that has decided whether restricted records count."""
    _validate(query)
    postgres = engine.dialect.name == "postgresql"
    terms = _terms(query.text)
    if query.text.strip() and not terms.folded:
        raise InvalidInput(
            f"câu tìm '{query.text}' không có chữ hay số nào để tìm",
            f"the query '{query.text}' has no letter or digit to search for",
            code="search.query_invalid",
            query=query.text,
        )
    filters = _Sql(postgres)
    _filters(filters, query, restricted=restricted)
    facts, any_of = _filter_tokens(query)
    base = list(dict.fromkeys([*terms.folded, *facts]))
    needed = query.offset + query.limit
    ranked: list[tuple[int, int]] = []
    with engine.connect() as connection:
        narrowed = None
        if filters.narrow and base:
            tiers = [(0, base)]
            if terms.folded:
                tiers = [
                    (score, list(dict.fromkeys([*base, *(t for group in held for t in group)])))
                    for score, held, _ in _tiers(terms)
                ]
            narrowed = _narrow(connection, filters, tiers, any_of, needed)
        if narrowed is not None:
            ranked, total, exact = narrowed
        elif not base:
            ranked = [(pk, 0) for pk in _page(connection, filters, None, needed)]
        elif not terms.folded:
            ranked = [(pk, 0) for pk in _page(connection, filters, (base, [], any_of), needed)]
        else:
            for score, held, _ in _tiers(terms):
                # Every record of a better tier holds these tokens too and is already ranked
                # (a better tier that was not read to its end filled the page): asking without
                # "and not the facts above" and dropping those gives the same tier, and lets
                # the index answer AND alone, much faster than AND NOT.
                required = list(dict.fromkeys([*base, *(t for group in held for t in group)]))
                seen = {pk for pk, _ in ranked}
                wanted = needed - len(ranked)
                page = _page(connection, filters, (required, [], any_of), wanted + len(seen))
                ranked.extend([(pk, score) for pk in page if pk not in seen][:wanted])
                if len(ranked) >= needed:
                    break
        if narrowed is None:
            total, exact = _count(
                connection, filters, (base, [], any_of) if base else None, len(ranked), needed
            )
        hits = _hits(connection, ranked[query.offset : needed], terms)
    return SearchResults(query=query, total=total, total_exact=exact, hits=tuple(hits))


def _source(q: _Sql, match: _Match | None) -> str:
    """FROM … WHERE … for the filters in ``q`` plus, if given, a full-text condition."""
    where = list(q.where)
    if match is None:
        source = "FROM archive_record r"
    elif q.postgres:
        source = "FROM archive_record r JOIN archive_text t ON t.record_pk = r.id"
        where.insert(0, q.full_text(match[0], match[1], match[2]))
    else:
        source = "FROM archive_fts JOIN archive_record r ON r.id = archive_fts.rowid"
        where.insert(0, q.full_text(match[0], match[1], match[2]))
    return source + (" WHERE " + " AND ".join(where) if where else "")


def _page(connection: Connection, filters: _Sql, match: _Match | None, limit: int) -> list[int]:
    """Up to ``limit`` record keys matching, newest archived first."""
    if filters.postgres and match is not None and not filters.narrow:
        window = _window(connection, filters, match, limit)
        if window is not None:
            return window
    q = _copy(filters)
    source = _source(q, match)
    order = "archive_fts.rowid" if match is not None and not q.postgres else "r.id"
    statement = f"SELECT r.id {source} ORDER BY {order} DESC LIMIT {int(limit)}"
    return [int(row[0]) for row in connection.execute(sql(statement), q.params)]


def _count(
    connection: Connection, filters: _Sql, match: _Match | None, found: int, needed: int
) -> tuple[int, bool]:
    """(number of matches, whether exact): counted up to COUNT_CAP, "more than" beyond."""
    if found < needed:
        return found, True  # every tier was read to the end
    cap = max(COUNT_CAP, needed)
    window = None
    if filters.postgres and match is not None and not filters.narrow:
        window = _window(connection, filters, match, cap + 1)
    if window is not None:
        counted = len(window)
    else:
        q = _copy(filters)
        source = _source(q, match)
        statement = f"SELECT count(*) FROM (SELECT 1 {source} LIMIT {cap + 1}) AS found"
        counted = int(connection.execute(sql(statement), q.params).scalar_one())
    return min(counted, cap), counted <= cap


def _narrow(
    connection: Connection,
    filters: _Sql,
    tiers: list[tuple[int, list[str]]],
    any_of: list[list[str]],
    needed: int,
) -> tuple[list[tuple[int, int]], int, bool] | None:
    """When a filter only SQL answers lets few records through (a case file, a symbol): the
    ranked page, the total and whether it is exact, from those records alone; None when they
    are more than ``NARROW_CAP`` (the caller then asks the join). Asked tier by tier, either
    engine starts from every full-text match of the tier (thousands for common words, each
    joined to its record) and does so again for each tier and for the count.

    ``tiers`` are (score, tokens required), best first, the last one every match's. Each
    record is tested against every tier once (``_held``): its score is its first tier's, as
    the tier by tier reading gives."""
    q = _copy(filters)
    records = f"SELECT r.id FROM archive_record r WHERE {' AND '.join(q.where)}"
    # SQLite, without statistics, walks every record by key for the order (the LIMIT is rarely
    # reached); "+" leaves it the index of the filter (a case file's records) and a sort.
    order = "r.id" if q.postgres else "+r.id"
    statement = f"{records} ORDER BY {order} DESC LIMIT {NARROW_CAP + 1}"
    keys = [int(pk) for pk in connection.execute(sql(statement), q.params).scalars()]
    if len(keys) > NARROW_CAP:
        return None
    found = sorted((first, -pk) for pk, first in _held(connection, q, tiers, any_of, keys))
    ranked = [(-negative, tiers[first][0]) for first, negative in found[:needed]]
    cap = max(COUNT_CAP, needed)
    return ranked, min(len(found), cap), len(found) <= cap


def _held(
    connection: Connection,
    q: _Sql,
    tiers: list[tuple[int, list[str]]],
    any_of: list[list[str]],
    keys: list[int],
) -> Iterable[tuple[int, int]]:
    """(key, index of the first tier it holds) for each of ``keys`` that holds one.

    PostgreSQL: each record's tsvector is fetched from TOAST and decompressed once (``tsv ||
    ''``, in a subquery the planner keeps) and tested against every tier in the same statement.
    SQLite: FTS5 answers a MATCH for a given rowid one lookup per token and segment (about
    80 µs a record), so the stored token strings are read instead and tested here: they hold
    the index's tokens, ASCII words between single spaces (``index_entry``), which is exactly
    what FTS5's ``ascii`` tokenizer makes of them; streamed, a record at a time."""
    if not keys:
        return
    if q.postgres:
        tests = ", ".join(f"v @@ {q.tsquery(required, [], any_of)}" for _, required in tiers)
        test = (
            f"SELECT record_pk, ARRAY[{tests}] FROM (SELECT record_pk, tsv || ''::tsvector AS v"
            " FROM archive_text WHERE record_pk = ANY(:narrow) OFFSET 0) AS held"
        )
        for pk, held in connection.execute(sql(test), {**q.params, "narrow": keys}):
            first = next((i for i, holds in enumerate(held) if holds), None)
            if first is not None:
                yield int(pk), first
        return
    wanted = [[f" {t} " for t in required] for _, required in tiers]
    groups = [[f" {t} " for t in group] for group in any_of]
    listed = ", ".join(str(pk) for pk in keys)  # integers from the database
    rows = connection.execute(
        sql(f"SELECT record_pk, tokens FROM archive_text WHERE record_pk IN ({listed})")
    )
    for pk, tokens in rows:
        padded = f" {tokens} "
        if not all(t in padded for t in wanted[-1]) or not all(
            any(t in padded for t in group) for group in groups
        ):
            continue
        first = next(
            (i for i, required in enumerate(wanted) if all(t in padded for t in required)), None
        )
        if first is not None:
            yield int(pk), first


def _copy(filters: _Sql) -> _Sql:
    q = _Sql(filters.postgres)
    q.where, q.params = list(filters.where), dict(filters.params)
    return q


def _window(connection: Connection, filters: _Sql, match: _Match, wanted: int) -> list[int] | None:
    """PostgreSQL: the first ``wanted`` keys that pass the filters among a window of the
    newest full-text matches; None when the windows are full and too few of them pass (the
    caller then asks the join over every match).

    A window of keys, then the filters checked on it by key, instead of one join, because the
    planner gets the join wrong both ways: it probes ``archive_record`` for every match before
    the LIMIT (thousands of probes for a common word), and it prices ``tsv @@ query`` as a cheap
    operator although each row's tsvector sits in TOAST and costs 5-6 µs to fetch and
    decompress, so for a common word it walks the whole table or key filtering row by row. The
    window comes from ``archive_text_recent()`` (migrations 0018, 0019): the GIN index asked
    span of record keys by span, newest first (``RECENCY_SPAN``), so a word a tenth of a million
    records hold costs a few spans instead of a hundred thousand matches; a rare word, one
    bitmap scan. Only the window's records are then checked against the filters, by key, in the
    same statement (one round trip, the keys never leave the server). When a filter lets too few
    of a full window through (a retention class), one wider window sized by the share that
    passed is tried before the join."""
    q = _copy(filters)
    size = 2 * wanted + WINDOW_SLACK
    for _ in range(2):
        parts = ", ".join(q.tsqueries(*match))
        recent = f"archive_text_recent(ARRAY[{parts}], {int(size)}, {SPANS}, {RECENCY_SPAN})"
        where = " AND ".join(["r.id = ANY(found.keys)", *q.where])
        statement = (
            f"SELECT cardinality(found.keys), ARRAY(SELECT r.id FROM archive_record r"
            f" WHERE {where} ORDER BY r.id DESC)"
            f" FROM (SELECT ARRAY(SELECT {recent}) AS keys OFFSET 0) AS found"  # read once
        )
        found, passed = connection.execute(sql(statement), q.params).one()
        if len(passed) >= wanted or found < size:
            return [int(pk) for pk in passed[:wanted]]
        size = min(WIDE_WINDOW, 2 * wanted * found // max(1, len(passed)) + WINDOW_SLACK)
        if size <= found:
            return None
    return None


def search(ws: Workspace, query: SearchQuery, *, username: str) -> SearchResults:
    """Records matching ``query`` that ``username`` may see, best first, with snippets."""
    with Session(ws.db) as session:
        role = user_named(session, username).role
    return run_search(ws.db, query, restricted=may_see_restricted(role))


# --- results and snippets ------------------------------------------------------------------


def _hits(connection: Connection, ranked: list[tuple[int, int]], terms: _Terms) -> list[SearchHit]:
    """The page's records with their highlights, read in one statement (the record, its
    text without the tokens, its file's code)."""
    if not ranked:
        return []
    record, text, archive_file = (
        ArchiveRecord.__table__,  # type: ignore[attr-defined]
        ArchiveText.__table__,  # type: ignore[attr-defined]
        ArchiveFile.__table__,  # type: ignore[attr-defined]
    )
    statement = (
        sa_select(record, text.c.body, archive_file.c.code.label("file_code"))
        .select_from(
            record.outerjoin(text, text.c.record_pk == record.c.id).outerjoin(
                archive_file, archive_file.c.id == record.c.file_id
            )
        )
        .where(record.c.id.in_([pk for pk, _ in ranked]))
    )
    rows = {row.id: row for row in connection.execute(statement)}
    wanted = set(terms.folded)
    exact = set(terms.exact) if terms.diacritics else None
    hits = []
    for pk, score in ranked:
        r = rows[pk]
        hits.append(
            SearchHit(
                record_id=r.record_id,
                score=score,
                doc_type=r.doc_type,
                number=r.number,
                symbol=r.symbol,
                subject=r.subject,
                issued_at=r.issued_at,
                agency_code=r.agency_code,
                agency_name=r.agency_name,
                signer=r.signer,
                direction=r.direction,
                file_code=r.file_code,
                retention_years=r.retention_years,
                access=r.access,
                pages=r.pages,
                subject_marked=tuple(mark(r.subject, wanted, exact)),
                snippet=tuple(snippet(r.body or "", wanted, exact)),
            )
        )
    return hits


def mark(text: str, wanted: set[str], exact: set[str] | None = None) -> list[Segment]:
    """``text`` cut into segments, words whose folded form is a query word marked.

    With ``exact`` (the exact forms of a query typed with diacritics) only the words in
    exactly that form, or written without any diacritics, are marked ("bổ nhiệm" marks "bổ"
    and "bo" but not "bộ"), unless ``text`` has no such word: then every folded match is."""
    found = [
        (m, pair)
        for m in _WORD.finditer(text)
        if (pair := word_tokens(m.group())) is not None and pair[0] in wanted
    ]
    if exact is not None:
        strict = [(m, p) for m, p in found if p[1] in exact or p[0] == p[1]]
        found = strict or found
    segments: list[Segment] = []
    last = 0
    for match, _ in found:
        if match.start() > last:
            segments.append(Segment(text[last : match.start()], False))
        segments.append(Segment(match.group(), True))
        last = match.end()
    if last < len(text):
        segments.append(Segment(text[last:], False))
    return _merge(segments)


def snippet(
    body: str, wanted: set[str], exact: set[str] | None = None, *, width: int = SNIPPET_CHARS
) -> list[Segment]:
    """The stretch of ``body`` (about ``width`` characters) holding the most distinct query
    words, cut at word boundaries, with "…" where the text goes on."""
    flat = " ".join(body.split())
    if not flat:
        return []
    positions = [
        (m.start(), m.end(), pair[0])
        for m in _candidates(frozenset(wanted)).finditer(flat)
        if (pair := word_tokens(m.group())) is not None and pair[0] in wanted
    ]
    start = 0
    if positions:
        best = _densest(positions, width)
        start = max(0, best - width // 4)
        if start > 0:
            space = flat.find(" ", start)
            start = space + 1 if 0 <= space < best else start
    end = min(len(flat), start + width)
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        end = space if space > start else end
    piece = flat[start:end]
    segments = mark(piece, wanted, exact)
    if start > 0:
        segments.insert(0, Segment("…", False))
    if end < len(flat):
        segments.append(Segment("…", False))
    return _merge(segments)


@lru_cache(maxsize=64)
def _letters() -> dict[str, str]:
    """Each ASCII letter and digit with every letter that folds to it ("e": "eèéẻẽẹêềếểễệE…")."""
    found: dict[str, list[str]] = {}
    for code in [*range(0x30, 0x7B), *range(0xC0, 0x250), *range(0x1E00, 0x1F00)]:
        char = chr(code)
        folded = fold(char)
        if len(folded) == 1 and (folded.isdigit() or "a" <= folded <= "z") and char.isalnum():
            found.setdefault(folded, []).append(char)
    return {letter: "".join(chars) for letter, chars in found.items()}


@lru_cache(maxsize=256)
def _candidates(wanted: frozenset[str]) -> re.Pattern[str]:
    """A pattern for the whole words that may fold to one of ``wanted``, so a long text is
    searched in C instead of folding each of its words (each candidate is still checked by
    ``word_tokens``). Query words outside Vietnamese and English letters: every word."""
    letters = _letters()
    if not wanted or any(not _ASCII_TOKEN.fullmatch(w) for w in wanted):
        return _WORD
    words = sorted(wanted, key=len, reverse=True)
    alternatives = "|".join(
        "".join(f"[{re.escape(letters.get(c, c))}]" for c in word) for word in words
    )
    return re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])")


def _densest(positions: Sequence[tuple[int, int, str]], width: int) -> int:
    """Where the first stretch of ``width`` characters holding the most distinct query words
    begins (at a query word), with a sliding window: a long text with many matches stays
    linear."""
    best, best_begin = -1, 0
    counts: dict[str, int] = {}
    right = 0
    for begin, _, word in positions:
        while right < len(positions) and positions[right][0] < begin + width:
            counts[positions[right][2]] = counts.get(positions[right][2], 0) + 1
            right += 1
        if len(counts) > best:
            best, best_begin = len(counts), begin
        counts[word] -= 1
        if not counts[word]:
            del counts[word]
    return best_begin


def _merge(segments: list[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for s in segments:
        if merged and not s.match and not merged[-1].match:
            merged[-1] = Segment(merged[-1].text + s.text, False)
        else:
            merged.append(s)
    return merged
