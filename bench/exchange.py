"""edXML between agencies: envelopes built and verified per second, and issue → "03 accepted".

Measured in one run:

- signed envelopes (XML-DSig, RSA-SHA256, the agency's DEMO key) built and parsed + verified per
  second, with a one-page and a 50-page PDF attached; the baseline is the same XML written and
  read by lxml without the signature (what the format costs before any cryptography);
- end to end, two agencies on this machine (SQLite, folder stores), each served by `vanthu
  serve`'s application on a port of its own: from the clerk's "issue" at the sender to the
  recipient's "03 accepted and registered" recorded at the sender — the seal, the envelope, the
  delivery, the recipient's signature check and registration, its clerk's register action and the
  status message back. The baseline is the same issue with no external recipient.

Steps run inline (as in `make demo`), so the figures include the archive step of each issue.

    python -m bench exchange [--json] [--envelopes 50] [--documents 3]
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from lxml import etree
from sqlmodel import Session, col, select

from bench.signing import document_pdf
from engine.automation import open_workspace
from engine.core.agency import (
    DEMO_AGENCY,
    DEMO_PEOPLE,
    DEMO_REGISTERS,
    DEMO_UNITS,
    create_agency,
)
from engine.core.config import load_settings
from engine.core.models import Agency, Document
from engine.core.workspace import Workspace
from engine.exchange import (
    Attachment,
    DocumentEnvelope,
    Organ,
    add_peer,
    build_document,
    exchange_status,
    identity,
    make_document_id,
    parse,
    set_organ_id,
)
from engine.http.serving import serving_in_thread
from engine.outgoing import DraftRequest, create_outgoing
from engine.signatures import create_demo_keys, keys
from engine.workflow import act
from signing._pki import free_port, load_demo_pki

ADMIN = "quantri"
RECIPIENT = Agency(
    code="STC",
    name="SỞ TÀI CHÍNH",
    parent_name="ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI",
    place="Hà Nội",
    leader_title="Giám đốc",
)
ORGAN_IDS = {"SNV": "000.00.01.H26", "STC": "000.00.02.H26"}
LETTER = DraftRequest(
    doc_type="Công văn",
    subject="V/v phối hợp rà soát biên chế năm 2027",
    signer="phogiamdoc",
    body=("Sở Nội vụ đề nghị Quý Sở phối hợp rà soát biên chế năm 2027.",),
    recipients=(),
    addressees=("Sở Tài chính",),
)


# --- envelopes -----------------------------------------------------------------------------------


def _envelope(pdf: bytes) -> DocumentEnvelope:
    return DocumentEnvelope(
        sender=Organ(ORGAN_IDS["SNV"], DEMO_AGENCY.name),
        recipients=(Organ(ORGAN_IDS["STC"], RECIPIENT.name),),
        document_id=make_document_id(ORGAN_IDS["SNV"], date(2026, 12, 5), "12/SNV-VP"),
        code_number="12",
        code_notation="SNV-VP",
        place="Hà Nội",
        promulgation_date=date(2026, 12, 5),
        type_code="18",
        type_name="Công văn",
        subject=LETTER.subject,
        attachments=(Attachment("12-SNV-VP.pdf", "application/pdf", pdf),),
    )


def _unsigned(pdf: bytes) -> bytes:
    """The baseline: an element tree of the same size (the PDF in base64), written by lxml."""
    root = etree.Element("edXML")
    header = etree.SubElement(root, "edXMLHeader")
    for name in ("From", "To", "DocumentId", "Subject"):
        etree.SubElement(header, name).text = name
    etree.SubElement(root, "AttachmentEncoded").text = base64.b64encode(pdf).decode("ascii")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _per_second(action: Callable[[], object], runs: int) -> float:
    started = time.perf_counter()
    for _ in range(runs):
        action()
    return runs / (time.perf_counter() - started)


def envelope_figures(ws: Workspace, runs: int) -> dict[str, float]:
    key = keys.agency_key(ws)
    figures: dict[str, float] = {}
    for label, pages in (("1page", 1), ("50pages", 50)):
        pdf = document_pdf(pages, 1)
        envelope = _envelope(pdf)
        signed = build_document(envelope, key)
        plain = _unsigned(pdf)
        assert parse(signed).signature.valid
        figures[f"pdf_kb_{label}"] = len(pdf) / 1024
        figures[f"envelope_kb_{label}"] = len(signed) / 1024
        figures[f"build_per_s_{label}"] = _per_second(partial(build_document, envelope, key), runs)
        figures[f"verify_per_s_{label}"] = _per_second(partial(parse, signed), runs)
        figures[f"baseline_write_per_s_{label}"] = _per_second(partial(_unsigned, pdf), runs)
        read = partial(etree.fromstring, plain)
        figures[f"baseline_read_per_s_{label}"] = _per_second(read, runs)
    return figures


# --- two agencies --------------------------------------------------------------------------------


def _office(home: Path, code: str, roots: list[Path]) -> Workspace:
    """An agency whose DEMO PKI is in ``home/pki``, trusting ``roots`` (its own and its peer's,
    as two real agencies both trust the government CA's root)."""
    agency = DEMO_AGENCY if code == "SNV" else RECIPIENT
    settings = load_settings(home, pki_dir=home / "pki", trust_roots=roots, steps_runner="inline")
    ws = open_workspace(settings)
    create_agency(ws, agency, DEMO_UNITS, DEMO_PEOPLE, DEMO_REGISTERS)
    set_organ_id(ws, ADMIN, ORGAN_IDS[code])
    return ws


def _introduce(office: Workspace, peer: Workspace, name: str, port: int, folder: Path) -> None:
    pem = folder / f"{name}.pem"
    pem.write_text(identity(peer).certificate_pem, encoding="ascii")
    organ_id = ORGAN_IDS[name]
    agency = DEMO_AGENCY if name == "SNV" else RECIPIENT
    url = f"http://127.0.0.1:{port}"
    add_peer(office, ADMIN, organ_id, agency.name, url, pem.read_bytes(), str(pem))


def _signed_letter(ws: Workspace, request: DraftRequest) -> int:
    doc = create_outgoing(ws, "chuyenvien", request)
    act(ws, doc, "chuyenvien", "submit")
    act(ws, doc, "truongphong", "approve")
    act(ws, doc, "phogiamdoc", "sign", pin=keys.pki(ws).demo_pin("phogiamdoc"))
    return doc


def _arrival(ws: Workspace, symbol: str) -> int:
    with Session(ws.db) as session:
        found = session.exec(
            select(Document.id)
            .where(Document.direction == "incoming", Document.sender_symbol == symbol)
            .order_by(col(Document.id).desc())
        ).first()
    if found is None:
        raise SystemExit(f"{symbol} did not arrive at the recipient")
    return found


def _verdict(ws: Workspace, document_id: int) -> str:
    with Session(ws.db) as session:
        document = session.get(Document, document_id)
        assert document is not None
        return str(json.loads(document.verification or "{}").get("verdict"))


def _symbol(ws: Workspace, document_id: int) -> str:
    with Session(ws.db) as session:
        document = session.get(Document, document_id)
        assert document is not None and document.symbol is not None
        return document.symbol


def end_to_end(work: Path, documents: int) -> dict[str, float]:
    for code, agency in (("snv", DEMO_AGENCY), ("stc", RECIPIENT)):
        (work / code).mkdir()
        create_demo_keys(work / code / "pki", agency, DEMO_PEOPLE)
    roots = [load_demo_pki(work / code / "pki").root_cert for code in ("snv", "stc")]
    sender, recipient = _office(work / "snv", "SNV", roots), _office(work / "stc", "STC", roots)
    ports = {"SNV": free_port(), "STC": free_port()}
    _introduce(sender, recipient, "STC", ports["STC"], work)
    _introduce(recipient, sender, "SNV", ports["SNV"], work)
    to_peer = replace(LETTER, recipients=(f"{RECIPIENT.name} <{ORGAN_IDS['STC']}>;", "Lưu: VT."))
    to_nobody = replace(LETTER, recipients=("Lưu: VT.",))
    accepted, issued_only = [], []
    with ExitStack() as stack:
        stack.enter_context(serving_in_thread(sender, ports["SNV"]))
        stack.enter_context(serving_in_thread(recipient, ports["STC"]))
        for round_no in range(documents + 1):  # the first round warms fonts, keys and LibreOffice
            doc = _signed_letter(sender, to_peer)
            started = time.perf_counter()
            act(sender, doc, "vanthu", "issue")
            arrived = _arrival(recipient, _symbol(sender, doc))
            act(recipient, arrived, "vanthu", "register")
            (status,) = exchange_status(sender, doc)
            if "03" not in [event.code for event in status.statuses]:
                raise SystemExit(f"03 did not come back: {status}")
            if _verdict(recipient, arrived) != "valid":
                raise SystemExit(f"the recipient did not find the signatures valid: #{arrived}")
            took = (time.perf_counter() - started) * 1000
            plain = _signed_letter(sender, to_nobody)
            started = time.perf_counter()
            act(sender, plain, "vanthu", "issue")
            alone = (time.perf_counter() - started) * 1000
            if round_no:
                accepted.append(took)
                issued_only.append(alone)
    for ws in (sender, recipient):
        ws.db.dispose()
    return {
        "issue_to_03_ms_median": statistics.median(accepted),
        "issue_alone_ms_median": statistics.median(issued_only),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench exchange", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--envelopes", type=int, default=50, help="builds and parses per size")
    parser.add_argument("--documents", type=int, default=3, help="documents sent end to end")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args(argv)
    logging.getLogger("pyhanko").setLevel(logging.CRITICAL)  # its path-building warnings
    work = Path(tempfile.mkdtemp(prefix="vanthu-bench-exchange-"))
    try:
        figures: dict[str, Any] = end_to_end(work, args.documents)
        figures |= envelope_figures(open_workspace(load_settings(work / "snv")), args.envelopes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps({k: round(v, 2) for k, v in figures.items()}))
        return
    _print(figures)


def _print(f: dict[str, Any]) -> None:
    print(f"{'envelope':<28}{'1 page':>12}{'50 pages':>12}")
    for label, key in (
        ("PDF (KB)", "pdf_kb"),
        ("signed envelope (KB)", "envelope_kb"),
        ("built + signed /s", "build_per_s"),
        ("parsed + verified /s", "verify_per_s"),
        ("baseline: lxml write /s", "baseline_write_per_s"),
        ("baseline: lxml read /s", "baseline_read_per_s"),
    ):
        print(f"{label:<28}{f[key + '_1page']:>12.1f}{f[key + '_50pages']:>12.1f}")
    for size in ("1page", "50pages"):
        write = f[f"baseline_write_per_s_{size}"] / f[f"build_per_s_{size}"]
        read = f[f"baseline_read_per_s_{size}"] / f[f"verify_per_s_{size}"]
        print(f"{size}: signing costs {write:.1f}× the plain write, verifying {read:.1f}× the read")
    e2e, alone = f["issue_to_03_ms_median"], f["issue_alone_ms_median"]
    print(f"issue → 03 accepted at the other agency (median): {e2e:.0f} ms")
    print(f"baseline, the same issue with no external recipient: {alone:.0f} ms")
    print(f"ratio: {e2e / alone:.2f}× (the exchange adds {e2e - alone:.0f} ms)")
