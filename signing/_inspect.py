"""What a PDF carries besides its pages, looked at before Vanthu accepts it.

An incoming document or an attachment is opened later by people, in their own PDF viewers, and
signed by the agency; it must be a PDF that can be read whole, and it must not run anything
when opened: no JavaScript, no launch action starting a program, no embedded file that is itself
a program. :func:`inspect_pdf` reads the whole object graph from the trailer with pyHanko's
reader (so a truncated file is found now, not when someone opens it) and reports what it found;
what to refuse is the caller's decision.

A file whose structure (trailer, catalogue, page tree) cannot be read is refused as unreadable.
A single damaged object elsewhere (a byte changed in transit: the signature check will say so)
does not stop the reading; the raw bytes are then searched for the names of active content too,
since a viewer that repairs the damage might still run what the object holds.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Literal

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.crypt import AuthStatus, StandardSecurityHandler
from pyhanko.pdf_utils.reader import PdfFileReader

from signing._errors import SigningError
from vanthu.errors import Kind

ActiveKind = Literal["javascript", "launch", "executable"]

MAX_OBJECTS = 500_000
"""More objects than any document a person reads; a file beyond it is refused as unreadable."""
EXECUTABLE_SUFFIXES = frozenset(
    {
        ".app", ".bat", ".cmd", ".com", ".cpl", ".dll", ".exe", ".hta", ".jar", ".js", ".jse",
        ".lnk", ".msi", ".msp", ".ps1", ".psm1", ".scr", ".sh", ".vbe", ".vbs", ".wsf", ".wsh",
        ".elf", ".bin", ".run", ".command", ".apk", ".deb", ".rpm", ".dmg", ".docm", ".xlsm",
        ".pptm", ".xlam",
    }
)  # fmt: skip
"""Names of files that run, or carry macros that run, when opened."""
EXECUTABLE_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-executable",
        "application/x-sharedlib",
        "application/x-sh",
        "application/x-bat",
        "application/javascript",
        "application/java-archive",
        "application/vnd.microsoft.portable-executable",
        "application/x-ms-installer",
    }
)
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"#!", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa", b"\xca\xfe\xba")
"""The first bytes of Windows, Linux and macOS programs and of scripts."""

_NAMES = {
    "javascript": ("JavaScript", "JavaScript"),
    "launch": ("lệnh mở chương trình (Launch)", "a launch action (Launch)"),
    "executable": ("tệp chạy được đính kèm", "an embedded file that runs"),
}


@dataclass(frozen=True)
class ActiveContent:
    """One piece of content that acts when the PDF is opened or clicked."""

    kind: ActiveKind
    """``javascript``, ``launch`` (a program started) or ``executable`` (an embedded program)."""
    detail: str = ""
    """The embedded file's name, or where the action sits (``/OpenAction``, ``/AA``...)."""


@dataclass(frozen=True)
class PdfInspection:
    """What :func:`inspect_pdf` found in a readable PDF."""

    pages: int
    encrypted: bool
    """Encrypted, but opened without a password (an owner password only)."""
    active: tuple[ActiveContent, ...]
    """Active content, in the order found; empty for an ordinary document."""

    @property
    def kinds(self) -> list[str]:
        """The kinds of active content found, each once, in a stable order."""
        return [kind for kind in _NAMES if any(a.kind == kind for a in self.active)]

    def describe(self) -> tuple[str, str]:
        """What was found, in Vietnamese and in English: ``JavaScript (2), ...``."""
        vi: list[str] = []
        en: list[str] = []
        for kind in self.kinds:
            found = [a for a in self.active if a.kind == kind]
            names = sorted({a.detail for a in found if a.detail and kind == "executable"})
            what_vi, what_en = _NAMES[kind]
            shown = f" '{', '.join(names)}'" if names else ""
            count = f" ({len(found)})" if len(found) > 1 and not names else ""
            vi.append(f"{what_vi}{shown}{count}")
            en.append(f"{what_en}{shown}{count}")
        return "; ".join(vi), "; ".join(en)


def inspect_pdf(data: bytes) -> PdfInspection:
    """Read the whole PDF and report its pages and active content.

    Raises :class:`SigningError`: ``signing.pdf.not_pdf`` (no %PDF- header),
    ``signing.pdf.unreadable`` (truncated, damaged, garbage), ``signing.pdf.password_required``
    (encrypted with a password to open it).
    """
    if b"%PDF-" not in data[:1024]:
        raise SigningError(
            "tệp không phải PDF (thiếu phần đầu %PDF-)",
            "the file is not a PDF (no %PDF- header)",
            code="signing.pdf.not_pdf",
            kind=Kind.INVALID,
        )
    try:  # untrusted bytes: whatever the reader trips on means the file cannot be read
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        encrypted = _open(reader)
        walker = _Walker()
        for key in ("/Root", "/Info"):  # the document and its metadata: all a viewer reads
            if key in reader.trailer:
                walker.walk(reader.trailer.raw_get(key), key)
        pages = int(reader.root["/Pages"]["/Count"])
        if walker.damaged:
            walker.found.extend(_named_in_bytes(data))
    except SigningError:
        raise
    except Exception as exc:
        raise _unreadable(exc) from exc
    if pages < 1:
        raise _unreadable(ValueError("no pages"))
    return PdfInspection(pages=pages, encrypted=encrypted, active=tuple(walker.found))


def _open(reader: PdfFileReader) -> bool:
    """Whether the file is encrypted; one needing a password to open is refused."""
    if not reader.encrypted:
        return False
    handler = reader.security_handler
    if not isinstance(handler, StandardSecurityHandler):
        raise _password_required()  # encrypted for a recipient's certificate
    if reader.decrypt(b"").status is AuthStatus.FAILED:
        raise _password_required()
    return True


def _password_required() -> SigningError:
    return SigningError(
        "PDF được đặt mật khẩu để mở: cần bản không đặt mật khẩu",
        "the PDF needs a password to be opened: a copy without a password is needed",
        code="signing.pdf.password_required",
        kind=Kind.INVALID,
    )


def _unreadable(exc: Exception) -> SigningError:
    reason = str(exc) or type(exc).__name__
    return SigningError(
        f"tệp PDF hỏng hoặc không đầy đủ, không đọc được: {reason}",
        f"the PDF is broken or incomplete and cannot be read: {reason}",
        code="signing.pdf.unreadable",
        kind=Kind.INVALID,
    )


class _Walker:
    """Visits every object reachable from the trailer once, noting active content."""

    def __init__(self) -> None:
        self.seen: set[tuple[int, int]] = set()
        self.found: list[ActiveContent] = []
        self.damaged = 0
        """Objects that could not be read."""

    def walk(self, start: generic.PdfObject, key: str) -> None:
        pending: list[tuple[generic.PdfObject, str]] = [(start, key)]
        while pending:
            value, key = pending.pop()
            if isinstance(value, generic.IndirectObject):
                ref = (value.idnum, value.generation)
                if ref in self.seen:
                    continue
                self.seen.add(ref)
                if len(self.seen) > MAX_OBJECTS:
                    raise ValueError(f"more than {MAX_OBJECTS} objects")
            try:  # one damaged object is counted, not fatal (see the module's docstring)
                self.visit(value.get_object(), key, pending)
            except Exception:
                self.damaged += 1

    def visit(
        self,
        value: generic.PdfObject,
        key: str,
        pending: list[tuple[generic.PdfObject, str]],
    ) -> None:
        if isinstance(value, generic.DictionaryObject):
            self.look_at(value, key)
            pending.extend((value.raw_get(k), str(k)) for k in value if k != "/Parent")
        elif isinstance(value, generic.ArrayObject):
            pending.extend((value.raw_get(i), key) for i in range(len(value)))

    def look_at(self, node: generic.DictionaryObject, key: str) -> None:
        action = node.get("/S")
        if "/JS" in node or action == "/JavaScript":
            self.found.append(ActiveContent("javascript", key))
        elif action == "/Launch":
            self.found.append(ActiveContent("launch", key))
        if "/XFA" in node and _xfa_has_script(node.get("/XFA")):
            self.found.append(ActiveContent("javascript", "/XFA"))
        if "/EF" in node:
            name = _file_name(node)
            if _runs(name, node):
                self.found.append(ActiveContent("executable", name))


_RAW_NAMES: tuple[tuple[re.Pattern[bytes], ActiveKind], ...] = (
    (re.compile(rb"/(JavaScript|JS)(?![A-Za-z0-9])"), "javascript"),
    (re.compile(rb"/Launch(?![A-Za-z0-9])"), "launch"),
)


def _named_in_bytes(data: bytes) -> list[ActiveContent]:
    """Active content named anywhere in the file's bytes (uncompressed parts)."""
    found: list[ActiveContent] = []
    for pattern, kind in _RAW_NAMES:
        if pattern.search(data):
            found.append(ActiveContent(kind, "damaged object"))
    return found


def _file_name(spec: generic.DictionaryObject) -> str:
    for key in ("/UF", "/F"):
        value = spec.get(key)
        if isinstance(value, generic.TextStringObject | generic.ByteStringObject | str):
            return str(value)
    return ""


def _runs(name: str, spec: generic.DictionaryObject) -> bool:
    """An embedded file that is a program: by its name, its declared type or its first bytes."""
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    if suffix in EXECUTABLE_SUFFIXES:
        return True
    embedded = spec.get("/EF")
    streams = embedded.values() if isinstance(embedded, generic.DictionaryObject) else []
    for ref in streams:
        stream = ref.get_object() if isinstance(ref, generic.IndirectObject) else ref
        if not isinstance(stream, generic.StreamObject):
            continue
        subtype = str(stream.get("/Subtype", "")).lstrip("/").replace("#2F", "/").lower()
        if subtype in EXECUTABLE_TYPES or stream.data.startswith(EXECUTABLE_MAGIC):
            return True
    return False


def _xfa_has_script(xfa: generic.PdfObject | None) -> bool:
    """XFA forms are XML packets; a <script> element in them runs when the form opens."""
    parts = list(xfa) if isinstance(xfa, generic.ArrayObject) else [xfa]
    for part in parts:
        stream = part.get_object() if isinstance(part, generic.IndirectObject) else part
        if isinstance(stream, generic.StreamObject) and b"<script" in stream.data.lower():
            return True
    return False
