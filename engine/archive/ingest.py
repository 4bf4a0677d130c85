"""Bulk ingest: migrating an agency's existing archive (`vanthu archive ingest DIR`).

DIR holds PDFs and their metadata, either one CSV (one row per PDF, Vietnamese or English column
headers, see ``COLUMNS``) or a JSON object beside each PDF (``a.pdf`` + ``a.json``, the same
keys). Every row becomes a record with the guarantees of one archived by the flows: its PDF
content-addressed in the store under its SHA-256 and kept with the retention date of its class,
a manifest written create-only, its database row and full-text entry, and the manifest's hash in
the audit chain (one ``archive_revision_written`` event per record, so ``vanthu archive check``
knows every ingested manifest, plus one ``archive_ingested`` event per batch).

Speed: a process pool checks the rows, reads the PDFs' text (PDFium in the worker, the
archiving path of engine.archive.extraction — pdftotext, OCR — for pages without a text layer)
and makes their full-text index rows, ``TASK`` rows a task. Each batch (``BATCH`` records) is
written with ``ObjectStore.create_many`` — its PDFs together, then its manifests together: a
folder store syncs a batch with a few journal commits instead of four fsyncs an object, S3 gets
concurrent PUTs — ``IN_FLIGHT`` batches at once while the ones before are committed in order,
each batch's rows in one transaction that begins only once its objects are durable.

Resuming: a record's identity is the SHA-256 of its PDF and of its row's metadata; its id is
derived from that identity, so the same row of the same folder gives the same record id in every
run. Records already in the database are skipped; one whose manifest reached the store but not
the database (a crash between the two) is taken up from the store, not written again.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import json
import os
import re
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import insert
from sqlmodel import Session, col, select

from engine.archive import records, retention, revisions
from engine.archive.extraction import is_blank
from engine.archive.search import keyed_entry, resolve_doc_type, unkeyed_entry
from engine.core import audit
from engine.core.agency import own_agency
from engine.core.db import transaction
from engine.core.errors import Conflict, EngineError, InvalidInput
from engine.core.models import Agency, ArchiveRecord, ArchiveText
from engine.core.text import VIETNAM, fold
from engine.core.workspace import Workspace
from engine.signatures import keys
from signing import verify_document
from storage import (
    ObjectExists,
    ObjectRef,
    ObjectStore,
    ObjectWrite,
    RecordManifest,
    manifest_key,
    put_contents,
    read_record,
)
from vanthu import clock

BATCH = 200
"""Records per database transaction."""
INGESTED = "archive_ingested"
"""The audit event of one batch ingested (each record's manifest has its own event too)."""
PDF_TYPE = records.PDF_TYPE
EXPIRED_LOCK = timedelta(days=1)
"""How long the objects of a record whose retention period has already ended are locked."""
TASK = 25
"""Rows per task given to a worker process."""
IN_FLIGHT = 2
"""Batches whose objects are written at once: one waiting for its slowest fsync or PUT does not
hold up the next."""

COLUMNS: dict[str, tuple[str, ...]] = {
    "file": ("tep", "ten tep", "tep tin", "file", "filename", "file name", "pdf"),
    "symbol": ("so, ky hieu", "so ky hieu", "so/ky hieu", "ky hieu", "symbol"),
    "number": ("so", "so van ban", "number"),
    "doc_type": ("loai van ban", "the loai", "loai", "doc type", "type"),
    "issued_at": ("ngay van ban", "ngay ban hanh", "ngay, thang", "ngay", "date", "issued at"),
    "agency": ("co quan ban hanh", "tac gia", "co quan", "agency"),
    "agency_code": ("ma co quan", "ma co quan ban hanh", "agency code"),
    "subject": ("trich yeu", "trich yeu noi dung", "subject"),
    "signer": ("nguoi ky", "signer"),
    "retention": ("thoi han bao quan", "retention"),
    "access": ("che do su dung", "quyen truy cap", "access"),
    "file_code": ("ma ho so", "ho so", "case file", "file code"),
    "direction": ("di/den", "van ban di/den", "direction"),
    "language": ("ngon ngu", "language"),
}
"""Metadata key → the column headers accepted for it (diacritics, case, '_' and spaces ignored:
'Số, ký hiệu', 'so_ky_hieu' and 'SO KY HIEU' are the same column)."""
REQUIRED = ("file", "doc_type", "subject")
_HEADERS = {name: key for key, names in COLUMNS.items() for name in names}
_DIRECTIONS = {
    "": "outgoing",
    "di": "outgoing",
    "outgoing": "outgoing",
    "den": "incoming",
    "incoming": "incoming",
}
_ACCESS = {
    "cong khai": "public",
    "public": "public",
    "han che": "restricted",
    "han che su dung": "restricted",
    "restricted": "restricted",
}
_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")
_LEADING_NUMBER = re.compile(r"\s*(\d+)")


# --- rows --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One PDF and its metadata, as the folder gives them."""

    source: str
    """The CSV or JSON file (relative to DIR) the metadata comes from."""
    line: int | None
    """The CSV line (1 is the header); None for a JSON file."""
    pdf: Path
    values: Mapping[str, str]
    """Metadata key (``COLUMNS``) → the text given."""

    @property
    def where(self) -> str:
        return self.source if self.line is None else f"{self.source}:{self.line}"


@dataclass(frozen=True)
class Refused:
    """A row not ingested, and why (Vietnamese)."""

    source: str
    line: int | None
    file: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "line": self.line, "file": self.file, "reason": self.reason}

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source} dòng {self.line}"
        return f"{where} ({self.file or '—'}): {self.reason}"


def _header_key(header: str) -> str | None:
    name = " ".join(fold(unicodedata.normalize("NFC", header)).replace("_", " ").split())
    return _HEADERS.get(name)


def _bad_folder(message: str, message_en: str, **context: Any) -> InvalidInput:
    return InvalidInput(message, message_en, code="ingest.metadata_invalid", **context)


def read_rows(folder: Path) -> list[Row]:
    """The rows of ``folder``: its one CSV, else a JSON beside each PDF. InvalidInput (naming the
    file and column) when the metadata cannot be read at all; a bad row is refused later."""
    if not folder.is_dir():
        raise InvalidInput(
            f"không có thư mục {folder}",
            f"there is no folder {folder}",
            code="ingest.folder_missing",
            folder=str(folder),
        )
    tables = sorted(folder.glob("*.csv"))
    if len(tables) > 1:
        names = ", ".join(p.name for p in tables)
        raise _bad_folder(
            f"thư mục {folder} có nhiều tệp CSV ({names}): chỉ để một tệp siêu dữ liệu",
            f"the folder {folder} holds several CSV files ({names}): keep one metadata file",
            folder=str(folder),
        )
    if tables:
        return list(_csv_rows(folder, tables[0]))
    return list(_json_rows(folder))


def _csv_rows(folder: Path, table: Path) -> Iterator[Row]:
    try:
        text = table.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad_folder(
            f"{table.name}: không phải văn bản UTF-8 (byte {exc.start}); lưu lại tệp CSV dạng"
            " UTF-8",
            f"{table.name}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8",
            file=table.name,
        ) from exc
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise _bad_folder(f"{table.name}: tệp rỗng", f"{table.name}: empty file", file=table.name)
    keys_: list[str] = []
    for column in header:
        key = _header_key(column)
        if key is None:
            raise _bad_folder(
                f"{table.name} dòng 1: không biết cột '{column}' (các cột nhận: "
                f"{', '.join(names[0] for names in COLUMNS.values())})",
                f"{table.name} line 1: unknown column '{column}'",
                file=table.name,
                column=column,
            )
        keys_.append(key)
    missing = [key for key in REQUIRED if key not in keys_]
    if missing:
        raise _bad_folder(
            f"{table.name} dòng 1: thiếu cột {', '.join(COLUMNS[k][0] for k in missing)}",
            f"{table.name} line 1: missing column {', '.join(missing)}",
            file=table.name,
        )
    line = reader.line_num + 1
    try:
        for cells in reader:
            line, start = reader.line_num + 1, line  # a quoted cell may span lines: its first
            if not any(cell.strip() for cell in cells):
                continue
            values = {k: v.strip() for k, v in zip(keys_, cells, strict=False)}
            yield Row(table.name, start, folder / values.get("file", ""), values)
    except csv.Error as exc:
        raise _bad_folder(
            f"{table.name} dòng {line}: không đọc được dòng CSV: {exc}",
            f"{table.name} line {line}: the CSV line cannot be read: {exc}",
            file=table.name,
            line=line,
        ) from exc


def _json_rows(folder: Path) -> Iterator[Row]:
    for pdf in sorted(folder.glob("*.pdf")):
        beside = pdf.with_suffix(".json")
        if not beside.is_file():
            yield Row(beside.name, None, pdf, {"file": pdf.name, "_error": "missing_json"})
            continue
        try:
            raw = json.loads(beside.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            yield Row(beside.name, None, pdf, {"file": pdf.name, "_error": f"json:{exc}"})
            continue
        values = {"file": pdf.name}
        if isinstance(raw, dict):
            for name, value in raw.items():
                key = _header_key(str(name))
                if key is None:
                    values["_error"] = f"column:{name}"
                elif value is not None:
                    values[key] = str(value).strip()
        else:
            values["_error"] = "json:not an object"
        values["file"] = pdf.name
        yield Row(beside.name, None, pdf, values)


# --- one row's metadata -------------------------------------------------------------------------


class RowRefused(Exception):
    """A row that cannot be ingested; the message says why (Vietnamese)."""


@lru_cache(maxsize=20_000)
def _date(text: str) -> date | None:
    """Cached, as the two lookups below: an archive repeats its dates, types and classes."""
    if not text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise RowRefused(f"ngày '{text}' không hợp lệ (viết dd/mm/yyyy, ví dụ 05/03/2020)")


@lru_cache(maxsize=1_000)
def _doc_type(value: str) -> str:
    return resolve_doc_type(value)


@lru_cache(maxsize=1_000)
def _retention_class(value: str) -> int | None:
    return retention.parse_class(value, "thời hạn bảo quản")


def _number(values: Mapping[str, str]) -> int | None:
    text = values.get("number", "")
    if text:
        if not text.isdigit():
            raise RowRefused(f"số '{text}' không phải số nguyên")
        return int(text)
    found = _LEADING_NUMBER.match(values.get("symbol", ""))
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class Described:
    """A row's metadata checked, before its PDF is read."""

    row: Row
    metadata: dict[str, Any]
    """The record's metadata (keys as engine.archive.archiving writes them), without the
    identifier, pages and signature verdict, which come later."""
    until: datetime | None
    """The end of its retention period (None: Vĩnh viễn)."""


def describe(row: Row, schedule: retention.RetentionSchedule, holder: Agency) -> Described:
    """The record's metadata from ``row``; RowRefused naming the field when it is wrong."""
    values = row.values
    problem = values.get("_error")
    if problem == "missing_json":
        raise RowRefused(f"thiếu tệp siêu dữ liệu {row.source} bên cạnh {row.pdf.name}")
    if problem and problem.startswith("json:"):
        raise RowRefused(f"tệp JSON không đọc được: {problem[5:]}")
    if problem and problem.startswith("column:"):
        raise RowRefused(f"không biết trường '{problem[7:]}'")
    name = values.get("file", "")
    if not name:
        raise RowRefused("thiếu tên tệp PDF")
    if Path(name).name != name or not name.lower().endswith(".pdf"):
        raise RowRefused(f"tên tệp '{name}' phải là một tệp .pdf nằm ngay trong thư mục")
    if not row.pdf.is_file():
        raise RowRefused(f"không có tệp {name} trong thư mục")
    subject = values.get("subject", "")
    if not subject:
        raise RowRefused("thiếu trích yếu")
    try:
        doc_type = _doc_type(values.get("doc_type", ""))
        raw_class = values.get("retention", "")
        years = _retention_class(raw_class) if raw_class else schedule.years_for(doc_type)
    except InvalidInput as exc:
        raise RowRefused(str(exc)) from exc
    issued = _date(values.get("issued_at", ""))
    direction = _DIRECTIONS.get(fold(values.get("direction", "")).strip())
    if direction is None:
        raise RowRefused(f"văn bản đi/đến '{values['direction']}' không hợp lệ (đi hoặc đến)")
    access_text = fold(values.get("access", "")).strip()
    access = _ACCESS.get(access_text) if access_text else schedule.access_for(doc_type)
    if access is None:
        raise RowRefused(f"chế độ sử dụng '{values['access']}' không hợp lệ (công khai, hạn chế)")
    matter_year = issued.year if issued else clock.now().astimezone(VIETNAM).year
    until = retention.retain_until(years, matter_year)
    issued_at = datetime(issued.year, issued.month, issued.day, tzinfo=VIETNAM) if issued else None
    symbol = values.get("symbol") or None
    agency = values.get("agency") or ""
    metadata: dict[str, Any] = {
        "agency": agency,
        "agency_code": values.get("agency_code") or "",
        "holder": holder.name,
        "holder_code": holder.code,
        "direction": direction,
        "register": None,
        "register_code": None,
        "number": _number(values),
        "symbol": symbol,
        "sender": agency if direction == "incoming" else None,
        "sender_symbol": symbol if direction == "incoming" else None,
        "issued_at": issued_at.isoformat() if issued_at else None,
        "received_at": None,
        "doc_type": doc_type,
        "subject": unicodedata.normalize("NFC", subject),
        "signer": values.get("signer") or None,
        "signer_title": None,
        "recipients": [],
        "language": values.get("language") or "vi",
        "matter_year": matter_year,
        "retention_years": years,
        "retention": retention.label(years),
        "retain_until": until.astimezone(VIETNAM).isoformat() if until else None,
        "access": access,
        "file": None,
        "file_title": None,
        "original_file_code": values.get("file_code") or None,
    }
    return Described(row, metadata, until)


def identity(pdf_sha256: str, row: Row) -> str:
    """SHA-256 of the PDF and of the row's metadata as given: the same row of the same folder
    has the same identity in every run, whatever its line."""
    given = {k: v for k, v in sorted(row.values.items()) if not k.startswith("_")}
    canonical = json.dumps([pdf_sha256, given], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def record_id_for(metadata: Mapping[str, Any], ident: str) -> str:
    """'<agency code>-<year>-NK-<16 hex digits of the identity>' (NK: nhập kho)."""
    code = re.sub(r"[^A-Z0-9]", "", fold(str(metadata.get("agency_code") or "")).upper())
    year = str(metadata.get("issued_at") or "")[:4] or "0000"
    return f"{code or 'LT'}-{year}-NK-{ident[:16]}"


# --- reading the PDFs (process pool) -------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """What a worker process read from one PDF."""

    data: bytes
    sha256: str
    text: str
    pages: int
    ocr_pdf: bytes | None
    verdict: str
    report: dict[str, Any] | None


SIGNED = "signed"
"""The verdict ``read_pdf`` gives a PDF that carries a signature: ``verify_signed`` decides."""


def verify_signed(data: bytes, roots: list[bytes]) -> tuple[str, dict[str, Any]]:
    """The verdict and report of a signed PDF, as archiving makes them. In a worker process."""
    checked = verify_document(data, roots)
    return checked.verdict, json.loads(json.dumps(checked.to_json(), default=str))


def read_pdf(path: str) -> Read | str:
    """The PDF's bytes, hash, text and signature verdict; a string (why, Vietnamese) when it
    cannot be read. Runs in a worker process."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return f"không đọc được tệp: {exc.strerror or exc}"
    if not data.startswith(b"%PDF"):
        return "tệp không phải PDF (thiếu phần đầu '%PDF')"
    try:
        text, pages, blank = _pdfium_text(data)
        ocr = None
        if blank:  # a scan: the archiving path (pdftotext, OCR in Vietnamese)
            extracted = records.full_text(data)
            text, pages, ocr = extracted.text, extracted.pages, extracted.ocr_pdf
        verdict = SIGNED if b"/ByteRange" in data else "unsigned"
    except EngineError as exc:
        return str(exc)
    except Exception as exc:  # PDFium's errors for a damaged file
        return f"PDF hỏng, không đọc được: {type(exc).__name__}: {exc}"
    sha = hashlib.sha256(data).hexdigest()
    return Read(data, sha, text, pages, ocr, verdict, None)


def _pdfium_text(data: bytes) -> tuple[str, int, bool]:
    """Text of every page with PDFium, in-process (no program to start: a tenth of pdftotext's
    time for a one-page PDF); whether a page has no text layer."""
    import pypdfium2 as pdfium  # lazy: only the ingest workers load PDFium

    document = pdfium.PdfDocument(data)
    try:
        pages = []
        for page in document:
            textpage = page.get_textpage()
            pages.append(textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n"))
            textpage.close()
            page.close()
    finally:
        document.close()
    blank = any(is_blank(p) for p in pages)
    text = unicodedata.normalize("NFC", "\f".join(p.strip() for p in pages))
    return text, len(pages), blank


# --- writing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    """A row read and checked, ready to be written."""

    described: Described
    read: Read
    record_id: str
    index: dict[str, Any]
    """Its full-text index row but the record's key and recency token (``unkeyed_entry``)."""


def prepare(
    rows: Sequence[Row], schedule: retention.RetentionSchedule, holder: Agency
) -> list[Ready | tuple[Row, str]]:
    """Each row checked, its PDF read and its index row made, or (row, why it is refused).
    Runs in a worker process, a few dozen rows per task (one task a row cost the main process
    more than the work)."""
    done: list[Ready | tuple[Row, str]] = []
    for row in rows:
        try:
            described = describe(row, schedule, holder)
        except RowRefused as exc:
            done.append((row, str(exc)))
            continue
        read = read_pdf(str(row.pdf))
        if isinstance(read, str):
            done.append((row, read))
            continue
        rid = record_id_for(described.metadata, identity(read.sha256, row))
        draft = _manifest(described, read, rid, _refs(described, read), None)
        fields = records.record_fields(draft)
        entry = unkeyed_entry(_as_record(fields, 0), read.text)
        done.append(Ready(described, read, rid, entry))
    return done


@dataclass(frozen=True)
class Written:
    ready: Ready
    manifest: RecordManifest
    digest: str
    """SHA-256 of the manifest as stored (what the audit chain records)."""


def _as_record(fields: Mapping[str, Any], pk: int) -> ArchiveRecord:
    """The columns of a record as the index reads them, without building the ORM object
    (that took most of a batch's time)."""
    return cast(ArchiveRecord, SimpleNamespace(**fields, id=pk, file_id=None))


def _whole_second(until: datetime) -> datetime:
    until = until.astimezone(UTC)
    return until.replace(microsecond=0) + timedelta(seconds=1) if until.microsecond else until


def _objects(described: Described, read: Read) -> list[tuple[str, str, bytes]]:
    """(role, name, content) of a record's objects: its PDF, and the OCR copy of a scan."""
    objects = [("pdf", described.row.pdf.name, read.data)]
    if read.ocr_pdf is not None:
        objects.append(("ocr", described.row.pdf.stem + "-ocr.pdf", read.ocr_pdf))
    return objects


def _refs(
    described: Described, read: Read, stored: Sequence[tuple[str, str | None]] | None = None
) -> tuple[ObjectRef, ...]:
    """The manifest's objects, with the (hash, version) the store gave each; without them the
    hashes alone (the draft a worker indexes)."""
    objects = _objects(described, read)
    if stored is None:  # the PDF's hash is read.sha256; only an OCR copy is hashed here
        stored = [(read.sha256, None)] + [
            (hashlib.sha256(data).hexdigest(), None) for _, _, data in objects[1:]
        ]
    return tuple(
        ObjectRef(role, name, sha, len(data), PDF_TYPE, version_id=version)
        for (role, name, data), (sha, version) in zip(objects, stored, strict=True)
    )


def _manifest(
    described: Described,
    read: Read,
    record_id: str,
    refs: tuple[ObjectRef, ...],
    until: datetime | None,
) -> RecordManifest:
    metadata = dict(described.metadata)
    metadata.update(
        identifier=record_id,
        pages=read.pages,
        signature_verdict=read.verdict,
        ingested_from={"source": described.row.source, "line": described.row.line},
    )
    if read.report is not None:
        metadata["signature_report"] = read.report
    return RecordManifest(record_id, clock.now(), refs, metadata, retain_until=until)


def _lock_until(store: ObjectStore, described: Described) -> datetime:
    until = _whole_second(retention.store_retain_until(store, described.until))
    # An old record whose retention period has already ended awaits appraisal and the disposal
    # procedure: its objects are locked a day (S3 refuses a lock date in the past).
    return max(until, _whole_second(clock.now() + EXPIRED_LOCK))


def write_batch(store: ObjectStore, batch: Sequence[Ready]) -> list[Written | str]:
    """The batch's objects (content-addressed, create-only, all made durable together), then
    their manifests (create-only, together): a manifest never names an object not yet safely
    stored. No pending note: the objects are the same on a retry, so an interrupted write
    leaves nothing a rerun does not take up. A manifest already there (a run stopped before its
    database commit) is taken when it names the same objects; else the row is refused (why)."""
    untils = [_lock_until(store, ready.described) for ready in batch]
    contents = [
        (data, until)
        for ready, until in zip(batch, untils, strict=True)
        for _, _, data in _objects(ready.described, ready.read)
    ]
    stored = iter(put_contents(store, contents, PDF_TYPE))
    manifests = []
    for ready, until in zip(batch, untils, strict=True):
        count = len(_objects(ready.described, ready.read))
        refs = _refs(ready.described, ready.read, [next(stored) for _ in range(count)])
        manifests.append(_manifest(ready.described, ready.read, ready.record_id, refs, until))
    bodies = [m.to_json() for m in manifests]
    created = store.create_many(
        [
            ObjectWrite(manifest_key(m.record_id), body, "application/json", m.retain_until)
            for m, body in zip(manifests, bodies, strict=True)
        ]
    )
    written: list[Written | str] = []
    for ready, manifest, body, outcome in zip(batch, manifests, bodies, created, strict=True):
        if not isinstance(outcome, ObjectExists):
            written.append(Written(ready, manifest, hashlib.sha256(body).hexdigest()))
            continue
        kept = read_record(store, ready.record_id)
        if [(r.role, r.sha256) for r in kept.objects] != [
            (r.role, r.sha256) for r in manifest.objects
        ]:
            written.append(f"kho đã có bản lưu {ready.record_id} với tệp khác: không ghi đè")
        else:
            written.append(Written(ready, kept, kept.digest))
    return written


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Progress:
    """Where a run is, for the progress line."""

    total: int
    done: int = 0
    ingested: int = 0
    skipped: int = 0
    refused: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else None


@dataclass(frozen=True)
class IngestReport:
    """What a run did."""

    ingested: int
    skipped: int
    """Rows whose record was already in the archive (an earlier run)."""
    refused: tuple[Refused, ...]
    seconds: float

    @property
    def rate(self) -> float:
        return (self.ingested + self.skipped) / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "ingested": self.ingested,
            "skipped": self.skipped,
            "refused": [r.to_json() for r in self.refused],
            "seconds": round(self.seconds, 3),
            "records_per_s": round(self.rate, 1),
        }


def _refused(row: Row, reason: str) -> Refused:
    return Refused(row.source, row.line, row.values.get("file", ""), reason)


def _holder(ws: Workspace) -> Agency:
    with Session(ws.db) as session:
        return own_agency(session)


def _chunks(items: Sequence[Row], size: int) -> Iterator[Sequence[Row]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _end_with_parent(parent: int) -> None:
    """In each worker process: end when the run that started it is gone (SIGKILL, the OOM
    killer). Forked workers hold each other's ends of the task pipe, so they would never see
    it close and would wait for work for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="ingest-parent-watch", daemon=True).start()


def ingest_folder(
    ws: Workspace,
    folder: Path,
    *,
    actor: str,
    resume: bool = False,
    workers: int | None = None,
    batch: int = BATCH,
    progress: Callable[[Progress], None] | None = None,
) -> IngestReport:
    """Ingest every row of ``folder``. Without ``resume``, the first batch that finds records
    already in the archive stops the run (Conflict ingest.already_started; an interrupted run
    committed a prefix of the rows, so that is the first batch); with it they are skipped.
    For archivists and administrators."""
    records.require_keeper(ws, actor, "nhập kho lưu trữ", "ingest into the archive")
    rows = read_rows(folder)
    schedule = retention.schedule_for(ws)
    holder = _holder(ws)
    state = Progress(total=len(rows))
    refused: list[Refused] = []
    seen: dict[str, Row] = {}
    workers = workers or os.cpu_count() or 1
    started = time.monotonic()
    roots = _Roots(ws)
    importlib.import_module("pypdfium2")  # loaded once here, not by every forked worker
    # the processes are forked first, before any thread of this run exists
    with (
        ProcessPoolExecutor(
            workers,
            mp_context=get_context("fork"),
            initializer=_end_with_parent,
            initargs=(os.getpid(),),
        ) as pool,
        ThreadPoolExecutor(IN_FLIGHT) as writer,
    ):
        chunks = _chunks(rows, batch)
        pending = _submit(pool, next(chunks, ()), schedule, holder)
        writing: deque[_Writing] = deque()
        while pending:
            current = pending
            pending = _submit(pool, next(chunks, ()), schedule, holder)  # read ahead
            ready = _gather(current, seen, refused, pool, roots)
            present = _present(ws, [r.record_id for r in ready])
            if present and not resume:
                raise Conflict(
                    f"{len(present)} bản lưu của thư mục {folder} đã có trong kho lưu trữ (lần nhập"
                    " trước bị ngắt?): chạy lại với --resume để bỏ qua chúng và nhập tiếp",
                    f"{len(present)} records of the folder {folder} are already in the archive"
                    " (an interrupted run?): run again with --resume to skip them and go on",
                    code="ingest.already_started",
                    folder=str(folder),
                )
            fresh = [r for r in ready if r.record_id not in present]
            state.skipped += len(ready) - len(fresh)
            # this batch's objects are written while earlier ones are, and committed in order
            writing.append(_Writing(fresh, writer.submit(write_batch, ws.store, fresh)))
            if len(writing) > IN_FLIGHT:
                _finish(ws, actor, folder, writing.popleft(), refused, state, progress)
        while writing:
            _finish(ws, actor, folder, writing.popleft(), refused, state, progress)
    refused.sort(key=lambda r: (r.source, r.line or 0, r.file))
    return IngestReport(state.ingested, state.skipped, tuple(refused), time.monotonic() - started)


def _submit(
    pool: ProcessPoolExecutor,
    rows: Sequence[Row],
    schedule: retention.RetentionSchedule,
    holder: Agency,
) -> list[Future[list[Ready | tuple[Row, str]]]]:
    return [
        pool.submit(prepare, rows[start : start + TASK], schedule, holder)
        for start in range(0, len(rows), TASK)
    ]


def _present(ws: Workspace, record_ids: Sequence[str]) -> set[str]:
    if not record_ids:
        return set()
    with Session(ws.db) as session:
        found = session.exec(
            select(ArchiveRecord.record_id).where(col(ArchiveRecord.record_id).in_(record_ids))
        ).all()
    return set(found)


@dataclass(frozen=True)
class _Writing:
    """A batch whose objects are being written."""

    batch: Sequence[Ready]
    future: Future[list[Written | str]]


class _Roots:
    """The trust roots, read when the first signed PDF comes (a migrated archive is mostly
    scans and unsigned PDFs)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.roots: list[bytes] | None = None

    def get(self) -> list[bytes]:
        if self.roots is None:
            self.roots = keys.trust_roots(self.ws)
        return self.roots


def _gather(
    submitted: Sequence[Future[list[Ready | tuple[Row, str]]]],
    seen: dict[str, Row],
    refused: list[Refused],
    pool: ProcessPoolExecutor,
    roots: _Roots,
) -> list[Ready]:
    """The batch's rows as the workers prepared them, refusing unreadable ones and repeated
    rows; the signed ones verified, all of the batch at once in the pool."""
    prepared: list[Ready] = []
    for future in submitted:
        for done in future.result():
            if isinstance(done, tuple):
                refused.append(_refused(*done))
            else:
                prepared.append(done)
    checks = {
        n: pool.submit(verify_signed, done.read.data, roots.get())
        for n, done in enumerate(prepared)
        if done.read.verdict == SIGNED
    }
    ready = []
    for n, done in enumerate(prepared):
        row = done.described.row
        if n in checks:
            try:
                verdict, report = checks[n].result()
            except EngineError as exc:
                refused.append(_refused(row, f"không kiểm tra được chữ ký số: {exc}"))
                continue
            done = replace(done, read=replace(done.read, verdict=verdict, report=report))
        if done.record_id in seen:
            reason = f"trùng dòng {seen[done.record_id].where} (cùng tệp PDF, cùng siêu dữ liệu)"
            refused.append(_refused(row, reason))
            continue
        seen[done.record_id] = row
        ready.append(done)
    return ready


def _finish(
    ws: Workspace,
    actor: str,
    folder: Path,
    writing: _Writing,
    refused: list[Refused],
    state: Progress,
    progress: Callable[[Progress], None] | None,
) -> None:
    """Wait for a batch's objects, commit its rows, report progress. A store that fails stops
    the run (the exception goes up); the batch is then not committed and a rerun takes it up."""
    written = []
    for ready, done in zip(writing.batch, writing.future.result(), strict=True):
        if isinstance(done, str):
            refused.append(_refused(ready.described.row, done))
        else:
            written.append(done)
    if written:
        _commit(ws, actor, folder, written)
    state.ingested += len(written)
    state.refused = len(refused)
    state.done = state.ingested + state.skipped + state.refused
    if progress is not None:
        progress(state)


def _commit(ws: Workspace, actor: str, folder: Path, batch: Sequence[Written]) -> None:
    """The rows, their full-text entries and their audit events, in one transaction, each as
    one multi-row INSERT (building ORM objects one by one took most of the time)."""
    fields = [records.record_fields(w.manifest) for w in batch]
    with transaction(ws.db) as session:
        table = ArchiveRecord.__table__  # type: ignore[attr-defined]
        session.execute(insert(table), fields)  # executemany: RETURNING goes row by row
        wanted = [f["record_id"] for f in fields]
        found = dict(
            session.execute(
                select(table.c.record_id, table.c.id).where(table.c.record_id.in_(wanted))
            ).all()
        )
        entries = [
            keyed_entry(w.ready.index, found[rid]) for rid, w in zip(wanted, batch, strict=True)
        ]
        session.execute(insert(ArchiveText.__table__), entries)  # type: ignore[attr-defined]
        events: list[tuple[str, dict[str, Any]]] = [
            (
                revisions.WRITTEN,
                {
                    "record": w.manifest.record_id,
                    "revision": w.manifest.revision,
                    "manifest_sha256": w.digest,
                    "reason": w.manifest.reason,
                    "via": "ingest",
                },
            )
            for w in batch
        ]
        first, last = batch[0].ready.described.row, batch[-1].ready.described.row
        summary = {"folder": folder.name, "records": len(batch)}
        events.append((INGESTED, {**summary, "first": first.where, "last": last.where}))
        audit.append_many(session, actor, events)


__all__ = [
    "BATCH",
    "COLUMNS",
    "IngestReport",
    "Progress",
    "Refused",
    "Row",
    "ingest_folder",
    "read_rows",
]
