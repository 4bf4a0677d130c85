"""Reading untrusted XML: a size limit before parsing, tolerated stray bytes, no entities.

What other systems send is not always clean: a UTF-8 byte order mark, blank lines or a few stray
bytes before ``<?xml`` (a transport that prepended them). A little of that is skipped with a
warning; more is refused naming the offset where the XML starts, never guessed around. lxml
parses with entity resolution, DTD loading and the network off, and any DOCTYPE is refused
outright (billion laughs, external entities such as ``file:///etc/passwd``). ``huge_tree`` is on:
with no DOCTYPE there is nothing to expand, the size limit bounds the input, and libxml2's
10 MB limit per text node would otherwise refuse a scanned attachment over 7.5 MB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from engine.exchange._errors import EdxmlUnreadable

MAX_JUNK = 16
"""Non-blank bytes before the XML that are skipped with a warning; more are refused."""
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.IGNORECASE)
_XML_START = re.compile(rb"<(\?xml|[A-Za-z_])")


@dataclass(frozen=True)
class Loaded:
    """A parsed document and the bytes it was parsed from (after any skipped prefix)."""

    root: etree._Element
    data: bytes
    warnings: tuple[str, ...]


def parser() -> etree.XMLParser:
    """The only parser edXML goes through (signature verification included)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=True,
    )


def load(data: bytes, max_bytes: int) -> Loaded:
    """Parse ``data`` safely; :class:`EdxmlUnreadable` with one line when it cannot be."""
    if len(data) > max_bytes:
        raise EdxmlUnreadable(
            f"tệp quá lớn: {len(data)} byte, giới hạn {max_bytes} byte",
            f"the file is too large: {len(data)} bytes, the limit is {max_bytes}",
            code="exchange.edxml.too_large",
            size=len(data),
            limit=max_bytes,
        )
    body, warnings = _skip_prefix(data)
    head = body[:131072]
    if _DOCTYPE.search(head) or _DOCTYPE.search(head.replace(b"\x00", b"")):  # UTF-8, UTF-16
        raise _doctype()
    try:
        root = etree.fromstring(body, parser())
    except etree.XMLSyntaxError as exc:
        raise _syntax(exc) from None
    except ValueError as exc:  # lxml refuses some inputs before libxml2 sees them
        raise EdxmlUnreadable(
            f"không đọc được XML: {exc}",
            f"not readable as XML: {exc}",
        ) from None
    if root.getroottree().docinfo.doctype:
        raise _doctype()
    return Loaded(root, body, warnings)


def _skip_prefix(data: bytes) -> tuple[bytes, tuple[str, ...]]:
    bom = next((b for b in _BOMS if data.startswith(b)), b"")
    if bom and bom != _BOMS[0]:
        return data, ()  # UTF-16: lxml reads the mark; offsets below would be wrong
    found = _XML_START.search(data, len(bom))
    if found is None:
        raise EdxmlUnreadable(
            "không phải XML: không thấy phần tử nào",
            "not XML: no element found",
            code="exchange.edxml.not_xml",
        )
    start = found.start()
    prefix = data[len(bom) : start]
    if not prefix:
        return data, ()
    junk = prefix.strip(b" \t\r\n\x00")
    if len(junk) > MAX_JUNK:
        raise EdxmlUnreadable(
            f"có {len(prefix)} byte không phải XML trước vị trí {start} (XML bắt đầu ở đó)",
            f"{len(prefix)} bytes that are not XML before offset {start} (where the XML starts)",
            code="exchange.edxml.junk_before_xml",
            offset=start,
        )
    what = "blank" if not junk else "stray"
    warning = f"{len(prefix)} {what} bytes before the XML (offset {start}) were skipped"
    return data[start:], (warning,)


def _doctype() -> EdxmlUnreadable:
    return EdxmlUnreadable(
        "tệp có khai báo DOCTYPE/ENTITY: bị từ chối (thực thể ngoài, bom XML)",
        "the file declares a DOCTYPE or entities: refused (external entities, XML bombs)",
        code="exchange.edxml.doctype",
    )


def _syntax(exc: etree.XMLSyntaxError) -> EdxmlUnreadable:
    line, column = exc.position if exc.position else (None, None)
    where = f"dòng {line}, cột {column}: " if line else ""
    where_en = f"line {line}, column {column}: " if line else ""
    message = (exc.msg or str(exc)).splitlines()[0]
    return EdxmlUnreadable(
        f"XML hỏng ở {where}{message}",
        f"broken XML at {where_en}{message}",
        code="exchange.edxml.malformed",
        line=line,
    )
