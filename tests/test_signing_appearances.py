"""Each Decree 30 signature appearance as a reader sees it, checked with poppler's own tools.

signer and seal: images only, where the layout put them; attachment in its own file and
electronic copy: text in the top right corner of page 1 (number and symbol, or the copying
agency's name, and the signing time in ISO 8601 on Vietnam's clock), 10 pt, font embedded.
Every signed file must also be valid for pdfsig, which trusts only the DEMO root.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pdf_support import A4, LAYOUT, SIGNER_BOX, text_pdf
from PIL import Image
from pki_support import pyhanko_validate, refusal
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PdfStreamError
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlmodel import Session, select

from engine.core.errors import Conflict, InvalidInput, NotAllowed
from engine.core.models import Agency, AuditEvent, Document, DocumentFile
from engine.core.workspace import Workspace
from engine.outgoing import add_attachment, create_outgoing, make_copy, signed_attachments
from engine.signatures import keys
from engine.workflow import Upload, act
from signing import (
    FIELD_ATTACHMENT,
    FIELD_COPY,
    FIELD_SEAL,
    FIELD_SIGNER,
    SigningError,
    SigningKey,
    add_form_fields,
    certify,
    electronic_copy,
    issue,
    sign_attachment,
    verify_document,
)
from signing.demo import DemoPKI, draw_seal_image, draw_signature_image, load_demo_pki
from storage import get_content
from tests_support import DECISION, Ran, cli_agency, pdfsig_lines, pin_of

MM = 72 / 25.4
SYMBOL = "05/QĐ-UBND"
AGENCY = "DEMO Sở Nội vụ tỉnh Mẫu"
ISO_VIETNAM = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$")


def plain_pdf(pages: int = 1, size: tuple[float, float] = A4) -> bytes:
    """Pages of ASCII text in a standard font, as another program would make them."""
    words = [(60, 780, b"SO NOI VU TINH MAU"), (60, 750, b"So:"), (405, 330, b"GIAM DOC")]
    return text_pdf([[*words, (250, 650, b"PHU LUC %d" % n)] for n in range(1, pages + 1)], size)


@dataclass(frozen=True)
class Issued:
    certified: bytes
    issued: bytes


@pytest.fixture(scope="module")
def seal_png() -> bytes:
    return draw_seal_image(AGENCY, "Ủy ban nhân dân tỉnh Mẫu")


@pytest.fixture(scope="module")
def issued(leader_key: SigningKey, agency_key: SigningKey, seal_png: bytes) -> Issued:
    certified = certify(
        add_form_fields(plain_pdf(), LAYOUT), leader_key, draw_signature_image("Nguyễn Văn An")
    )
    done = issue(
        certified,
        number=SYMBOL,
        date_text="ngày 05 tháng 01 năm 2026",
        key=agency_key,
        seal_image=seal_png,
    )
    return Issued(certified, done)


def _widget(pdf: bytes, field: str) -> generic.DictionaryObject:
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    for ref in reader.root["/AcroForm"]["/Fields"]:
        found = ref.get_object()
        if str(found["/T"]) == field:
            assert isinstance(found, generic.DictionaryObject)
            return found
    raise AssertionError(f"no field {field}")


def _rect(pdf: bytes, field: str) -> tuple[float, ...]:
    return tuple(float(v) for v in _widget(pdf, field)["/Rect"])


def _appearance(pdf: bytes, field: str) -> bytes:
    stream = _widget(pdf, field)["/AP"]["/N"]
    assert isinstance(stream, generic.StreamObject)
    return bytes(stream.data)


def _run(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=True).stdout


@dataclass(frozen=True)
class Word:
    text: str
    x1: float
    y1: float
    x2: float
    y2: float
    """pdftotext's box: y grows downwards from the top of the page."""


def _words(pdf: Path, page: int = 1) -> list[Word]:
    html = _run("pdftotext", "-bbox", "-f", page, "-l", page, pdf, "-")
    pattern = re.compile(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    )
    return [
        Word(m[5], float(m[1]), float(m[2]), float(m[3]), float(m[4]))
        for m in pattern.finditer(html)
    ]


def _top_right_lines(pdf: Path, page_size: tuple[float, float] = A4) -> list[str]:
    """The text pdftotext finds in the stamp corner: right of the middle, within 20 mm of the
    top (above the first printed line), as lines."""
    width, _height = page_size
    corner = [w for w in _words(pdf) if w.x1 > width / 2 and w.y2 < 20 * MM]
    lines: dict[int, list[Word]] = {}
    for word in corner:
        lines.setdefault(round(word.y1), []).append(word)
    return [
        " ".join(w.text for w in sorted(ws, key=lambda w: w.x1)) for _, ws in sorted(lines.items())
    ]


def _pdfsig_valid(pdf: Path, demo_pki: DemoPKI, work: Path) -> list[str]:
    """The fields pdfsig finds signed with an intact signature and a trusted chain, in order.

    Empty fields are listed by pdfsig as not signed and left out. Poppler 22.12 reads NSS's
    error code without checking the verify call's result, so after an OCSP lookup a stale
    code can turn a trusted chain into "Unknown issue with Certificate" for a later signature
    of the same file; that answer is accepted, a definite refusal (issuer not trusted,
    revoked, expired) is not.
    """
    lines = pdfsig_lines(pdf, demo_pki.root_cert, work / "nss")
    text = "\n".join(lines)
    assert "Signature #1" in text and "Certificate is Trusted." in text, text
    valid = []
    for block in text.split("Signature #")[1:]:
        field = re.search(r"Signature Field Name: (\S+)", block)
        assert field is not None, block
        if "not signed" in block:
            continue
        trust = re.search(r"Certificate Validation: (.*)", block)
        assert trust is not None, block
        assert trust[1] in ("Certificate is Trusted.", _POPPLER_STALE), block
        assert "Signature Validation: Signature is Valid." in block, block
        valid.append(field[1])
    return valid


_POPPLER_STALE = "Unknown issue with Certificate or corrupted data."


def _fonts(pdf: Path) -> list[list[str]]:
    return [line.split() for line in _run("pdffonts", pdf).splitlines()[2:]]


def _signing_time(pdf: bytes, field: str) -> datetime:
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    found = next(s for s in reader.embedded_signatures if s.field_name == field)
    moment = found.self_reported_timestamp
    assert moment is not None
    return moment


def _render(pdf: Path, work: Path) -> Image.Image:
    _run("pdftoppm", "-r", "72", "-png", "-f", "1", "-l", "1", pdf, work / "page")
    return Image.open(next(work.glob("page*.png"))).convert("RGB")


def _ink(page: Image.Image, box: tuple[float, float, float, float], red: bool) -> int:
    """Pixels of red (seal) or blue (signature) ink in a PDF rectangle of the rendered page."""
    x1, y1, x2, y2 = box
    crop = page.crop((int(x1), int(A4[1] - y2), int(x2), int(A4[1] - y1)))
    if red:
        return sum(1 for r, g, b in crop.get_flattened_data() if r > 150 and g < 110 and b < 110)
    return sum(1 for r, g, b in crop.get_flattened_data() if b > 120 and r < 110 and g < 130)


def test_signer_and_seal_are_images_where_the_layout_put_them(
    issued: Issued, demo_pki: DemoPKI, tmp_path: Path
) -> None:
    pdf = tmp_path / "issued.pdf"
    pdf.write_bytes(issued.issued)
    assert _rect(issued.issued, FIELD_SIGNER) == pytest.approx(SIGNER_BOX.as_tuple())
    assert _rect(issued.issued, FIELD_SEAL) == pytest.approx(LAYOUT.seal.as_tuple())
    for field in (FIELD_SIGNER, FIELD_SEAL):
        drawn = _appearance(issued.issued, field)
        assert b"Do" in drawn and b"BT" not in drawn  # Decree 30: image, no text shown
    # the seal at real size: 36 mm across, not stretched to its field
    scale = re.search(rb"q ([\d.]+) 0 0 ([\d.]+) ", _appearance(issued.issued, FIELD_SEAL))
    assert scale is not None
    assert float(scale[1]) == pytest.approx(36 * MM, abs=0.5)
    assert float(scale[2]) == pytest.approx(36 * MM, abs=0.5)
    page = _render(pdf, tmp_path)
    seal = LAYOUT.seal
    left_third = (SIGNER_BOX.x1, SIGNER_BOX.y1, SIGNER_BOX.x1 + SIGNER_BOX.width / 3, SIGNER_BOX.y2)
    right_third = (
        SIGNER_BOX.x2 - SIGNER_BOX.width / 3,
        SIGNER_BOX.y1,
        SIGNER_BOX.x2,
        SIGNER_BOX.y2,
    )
    assert _ink(page, seal.as_tuple(), red=True) > 1500
    assert _ink(page, left_third, red=True) > 5 * _ink(page, right_third, red=True)
    assert _ink(page, SIGNER_BOX.as_tuple(), red=False) > 300
    assert _pdfsig_valid(pdf, demo_pki, tmp_path) == [FIELD_SIGNER, FIELD_SEAL]


def test_number_and_date_keep_their_vietnamese_letters(issued: Issued, tmp_path: Path) -> None:
    pdf = tmp_path / "issued.pdf"
    pdf.write_bytes(issued.issued)
    text = _run("pdftotext", pdf, "-")
    assert SYMBOL in text and "ngày 05 tháng 01 năm 2026" in text
    embedded = {row[0].split("+")[-1]: row for row in _fonts(pdf) if "+" in row[0]}
    assert {"LiberationSerif", "LiberationSerif-Italic"} <= set(embedded)
    assert all(row[-5:-2] == ["yes", "yes", "yes"] for row in embedded.values())


def test_attachment_stamp_in_the_top_right_corner(
    agency_key: SigningKey, demo_pki: DemoPKI, tmp_path: Path
) -> None:
    signed = sign_attachment(plain_pdf(pages=3), main_symbol=SYMBOL, key=agency_key)
    pdf = tmp_path / "phu-luc.pdf"
    pdf.write_bytes(signed)
    first, second = _top_right_lines(pdf)
    assert first == SYMBOL
    assert ISO_VIETNAM.match(second), second
    # the time shown is the signature's own signing time
    shown = datetime.fromisoformat(second)
    assert abs(shown - _signing_time(signed, FIELD_ATTACHMENT)) < timedelta(seconds=1)
    x1, y1, x2, y2 = _rect(signed, FIELD_ATTACHMENT)
    assert x2 == pytest.approx(A4[0] - 15 * MM, abs=0.5)  # right edge on the 15 mm margin
    assert A4[1] - y2 == pytest.approx(7 * MM, abs=0.5)  # top edge inside the top margin
    assert _widget(signed, FIELD_ATTACHMENT)["/P"].get_object() is not None
    drawn = _appearance(signed, FIELD_ATTACHMENT)
    assert b"/F1 10.00 Tf 0 g" in drawn and b"Do" not in drawn  # 10 pt, black, no image
    words = [w for w in _words(pdf) if w.text == SYMBOL]
    assert words and all(w.x2 <= A4[0] - 15 * MM + 1 for w in words)
    assert all(w.x1 > x1 - 1 and w.y2 < A4[1] - y1 + 1 for w in words)
    fonts = [row for row in _fonts(pdf) if row[0].endswith("+LiberationSerif")]
    assert fonts and fonts[0][-5:-2] == ["yes", "yes", "yes"]  # embedded, subset, ToUnicode
    assert "PHU LUC 2" in _run("pdftotext", "-f", "2", "-l", "2", pdf, "-")
    assert _pdfsig_valid(pdf, demo_pki, tmp_path) == [FIELD_ATTACHMENT]


def test_an_issued_original_keeps_no_empty_signature_field(
    issued: Issued, demo_pki: DemoPKI, tmp_path: Path
) -> None:
    """An empty signature field invites anyone to sign the issued original; it has none."""
    reader = PdfFileReader(io.BytesIO(issued.issued), strict=False)
    signatures = {
        str(field.get_object()["/T"]): "/V" in field.get_object()
        for field in reader.root["/AcroForm"]["/Fields"]
        if str(field.get_object().get("/FT")) == "/Sig"
    }
    assert signatures == {FIELD_SIGNER: True, FIELD_SEAL: True}
    pdf = tmp_path / "issued.pdf"
    pdf.write_bytes(issued.issued)
    assert "not signed" not in "\n".join(pdfsig_lines(pdf, demo_pki.root_cert, tmp_path / "nss"))


def test_electronic_copy_of_an_issued_document_keeps_every_signature_valid(
    issued: Issued, agency_key: SigningKey, demo_pki: DemoPKI, tmp_path: Path
) -> None:
    """The copy adds its own signature field, invisible: under the leader's certification
    (DocMDP 2) a new visible field would break it for pyHanko; pdfsig and pyHanko judge all
    three signatures valid, and the page a reader sees is unchanged."""
    copied = electronic_copy(issued.issued, agency_name=AGENCY, key=agency_key)
    assert copied.startswith(issued.issued)  # an incremental update: nothing earlier rewritten
    pdf = tmp_path / "ban-sao.pdf"
    pdf.write_bytes(copied)
    assert _rect(copied, FIELD_COPY) == (0, 0, 0, 0)
    assert abs(_signing_time(copied, FIELD_COPY) - datetime.now().astimezone()) < timedelta(
        minutes=5
    )
    assert _pdfsig_valid(pdf, demo_pki, tmp_path) == [FIELD_SIGNER, FIELD_SEAL, FIELD_COPY]
    judged = pyhanko_validate(pdf, demo_pki.root_cert)
    assert judged.returncode == 0, judged.stdout + judged.stderr
    lines = [line for line in judged.stdout.splitlines() if line.startswith("chu_ky_")]
    assert [line.split(":")[0] for line in lines] == [FIELD_SIGNER, FIELD_SEAL, FIELD_COPY]
    assert all(":INTACT:TRUSTED" in line for line in lines), judged.stdout
    assert "ACCEPTABLE_MODIFICATIONS" in lines[0] and "ILLEGAL" not in judged.stdout
    report = verify_document(copied, [demo_pki.root_cert.read_bytes()])
    assert report.verdict == "valid", report.reasons
    assert [(s.field, s.kind) for s in report.signatures][-1] == (FIELD_COPY, "organisation")
    before, after = tmp_path / "before", tmp_path / "after"
    before.mkdir()
    after.mkdir()
    (before / "a.pdf").write_bytes(issued.issued)
    page_before, page_after = _render(before / "a.pdf", before), _render(pdf, after)
    assert page_before.tobytes() == page_after.tobytes()  # nothing drawn
    with refusal("signing.copy.already_made"):
        electronic_copy(copied, agency_name=AGENCY, key=agency_key)


def test_copy_of_a_pdf_without_the_field_gets_one(
    agency_key: SigningKey, demo_pki: DemoPKI, tmp_path: Path
) -> None:
    letter = (595.0, 792.0)  # not A4: the corner follows the page
    copied = electronic_copy(plain_pdf(size=letter), agency_name=AGENCY, key=agency_key)
    pdf = tmp_path / "ban-sao.pdf"
    pdf.write_bytes(copied)
    assert _top_right_lines(pdf, letter)[0] == AGENCY
    assert letter[1] - _rect(copied, FIELD_COPY)[3] == pytest.approx(7 * MM, abs=0.5)
    assert _pdfsig_valid(pdf, demo_pki, tmp_path) == [FIELD_COPY]


def test_stamps_refuse_what_they_must_not_sign(
    issued: Issued, leader_key: SigningKey, agency_key: SigningKey
) -> None:
    personal = {"expected": "organisation", "certificate_serial": leader_key.serial}
    with refusal("signing.policy.wrong_kind", **personal):
        sign_attachment(plain_pdf(), main_symbol=SYMBOL, key=leader_key)
    with refusal("signing.policy.wrong_kind", **personal):
        electronic_copy(issued.issued, agency_name=AGENCY, key=leader_key)
    with refusal("signing.attachment.symbol_missing"):
        sign_attachment(plain_pdf(), main_symbol="  ", key=agency_key)
    once = sign_attachment(plain_pdf(), main_symbol=SYMBOL, key=agency_key)
    with refusal("signing.attachment.already_signed"):
        sign_attachment(once, main_symbol=SYMBOL, key=agency_key)
    # a certified PDF has no room for a new field: signing one would break the certification
    with refusal("signing.certification.no_room"):
        sign_attachment(issued.certified, main_symbol=SYMBOL, key=agency_key)
    with refusal("signing.pdf.not_pdf"):
        sign_attachment(b"not a pdf", main_symbol=SYMBOL, key=agency_key)


def test_appearances_as_seen(agency_key: SigningKey, tmp_path: Path) -> None:
    """The copy's stamp on an uncertified PDF is ink on the page, in the corner and nowhere
    else new."""
    before = tmp_path / "before"
    after = tmp_path / "after"
    before.mkdir()
    after.mkdir()
    original = plain_pdf()
    (before / "a.pdf").write_bytes(original)
    (after / "a.pdf").write_bytes(electronic_copy(original, agency_name=AGENCY, key=agency_key))
    old, new = _render(before / "a.pdf", before), _render(after / "a.pdf", after)
    changed = [
        (x, y)
        for y in range(0, new.height, 2)
        for x in range(0, new.width, 2)
        if old.getpixel((x, y)) != new.getpixel((x, y))
    ]
    assert changed
    assert min(x for x, _ in changed) > A4[0] / 2
    assert max(y for _, y in changed) < 20 * MM


# --- the engine: attachments signed at issuance, copies made by the clerk ---------------------


def _issue_with_attachment(ws: Workspace, attachment: bytes) -> int:
    doc = create_outgoing(ws, "chuyenvien", DECISION)
    first = Upload("phu-luc.pdf", plain_pdf())
    assert add_attachment(ws, doc, "chuyenvien", first) == 1
    # the same name again replaces it; another name is a second attachment
    assert add_attachment(ws, doc, "chuyenvien", Upload("phu-luc.pdf", attachment)) == 1
    assert add_attachment(ws, doc, "chuyenvien", Upload("bang-ke.pdf", first.data)) == 2
    act(ws, doc, "chuyenvien", "submit")
    act(ws, doc, "truongphong", "approve")
    act(ws, doc, DECISION.signer, "sign", pin=pin_of(ws, DECISION.signer))
    act(ws, doc, "vanthu", "issue")
    return doc


def test_attachment_is_signed_at_issuance_and_the_clerk_copies(
    agency: Workspace, tmp_path: Path
) -> None:
    ws = agency
    doc = _issue_with_attachment(ws, plain_pdf(pages=2))
    with Session(ws.db) as session:
        document = session.get(Document, doc)
        assert document is not None and document.symbol
        symbol = document.symbol
    signed, listed = signed_attachments(ws, doc)
    assert (signed.filename, listed.filename) == ("phu-luc.pdf", "bang-ke.pdf")
    pdf = tmp_path / "phu-luc.pdf"
    pdf.write_bytes(get_content(ws.store, signed.sha256))
    assert "PHU LUC 2" in _run("pdftotext", "-f", "2", "-l", "2", pdf, "-")  # the newer upload
    first, second = _top_right_lines(pdf)
    assert first == symbol and ISO_VIETNAM.match(second)
    assert FIELD_ATTACHMENT in _run("pdfsig", pdf)

    copy = make_copy(ws, doc, "vanthu")
    copied = verify_document(copy.pdf, keys.trust_roots(ws))
    assert copied.verdict == "valid", copied.reasons
    assert (copied.signatures[-1].field, copied.signatures[-1].kind) == (FIELD_COPY, "organisation")
    with Session(ws.db) as session:
        kinds = [
            f.kind
            for f in session.exec(select(DocumentFile).where(DocumentFile.document_id == doc))
        ]
        events = [
            e.event for e in session.exec(select(AuditEvent).where(AuditEvent.document_id == doc))
        ]
    assert "copy" in kinds and "attachment_issued" in kinds
    assert "attachment_added" in events and "copied" in events
    with pytest.raises(NotAllowed) as denied:
        make_copy(ws, doc, "chuyenvien")
    assert denied.value.code == "copy.clerk_only"
    assert "văn thư" in str(denied.value)  # tells the specialist who signs copies


def ws_agency_name(ws: Workspace) -> str:
    with Session(ws.db) as session:
        agency = session.exec(select(Agency)).first()
        assert agency is not None
        return agency.name


def test_attachments_are_pdfs_from_the_drafter_only(agency: Workspace) -> None:
    ws = agency
    doc = create_outgoing(ws, "chuyenvien", DECISION)
    with pytest.raises(InvalidInput) as caught:
        add_attachment(ws, doc, "chuyenvien", Upload("phu-luc.docx", b"PK\x03\x04"))
    assert (caught.value.code, caught.value.file) == ("attachment.not_pdf", "phu-luc.docx")
    with pytest.raises(InvalidInput) as caught:
        add_attachment(ws, doc, "chuyenvien", Upload("phu-luc.pdf", b"<html>"))
    assert caught.value.code == "attachment.pdf_incomplete"
    broken = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    with pytest.raises(InvalidInput) as caught:
        add_attachment(ws, doc, "chuyenvien", Upload("phu-luc.pdf", broken))
    assert caught.value.code == "attachment.pdf_unreadable"
    assert isinstance(caught.value.__cause__, SigningError)
    assert caught.value.__cause__.code == "signing.pdf.unreadable"
    big = b"%PDF-1.7\n" + b"0" * ws.settings.max_upload_bytes + b"\n%%EOF\n"
    with pytest.raises(InvalidInput) as caught:
        add_attachment(ws, doc, "chuyenvien", Upload("to.pdf", big))
    assert caught.value.code == "attachment.too_large"
    with pytest.raises(NotAllowed):
        add_attachment(ws, doc, "vanthu", Upload("phu-luc.pdf", plain_pdf()))
    with pytest.raises(Conflict) as not_yet:
        make_copy(ws, doc, "vanthu")
    assert not_yet.value.code == "copy.not_issued"


def _leader_signature_hex(certified: bytes) -> bytes:
    reader = PdfFileReader(io.BytesIO(certified), strict=False)
    (leader,) = reader.embedded_signatures
    return bytes(leader.signer_info["signature"].native).hex().encode()


def test_issue_refuses_a_leader_signature_that_does_not_verify(
    issued: Issued, agency_key: SigningKey, seal_png: bytes
) -> None:
    """The seal step's own check of the leader's signature (not the validator's)."""
    value = _leader_signature_hex(issued.certified)
    at = issued.certified.lower().index(value) + 40
    flipped = b"0" if issued.certified[at : at + 1] != b"0" else b"1"
    forged = issued.certified[:at] + flipped + issued.certified[at + 1 :]
    body = issued.certified.index(b"PHU LUC 1")
    changed = issued.certified[:body] + b"PHU LUC 9" + issued.certified[body + 9 :]
    for bad in (forged, changed):
        with refusal("signing.certification.broken"):
            issue(
                bad,
                number=SYMBOL,
                date_text="ngày 05 tháng 01 năm 2026",
                key=agency_key,
                seal_image=seal_png,
            )


@pytest.mark.slow
def test_attach_and_copy_from_the_command_line(
    tmp_path: Path, demo_keys: Path, vanthu_cli: Callable[..., Ran]
) -> None:
    home = cli_agency(tmp_path / "agency", demo_keys)

    def ok(*args: str) -> str:
        result = vanthu_cli(home, *args)
        assert result.returncode == 0, (args, result.stderr)
        return result.stdout

    body = tmp_path / "body.txt"
    body.write_text("Điều 1. Ban hành Phụ lục kèm theo.\nĐiều 2. Hiệu lực kể từ ngày ký./.\n")
    created = ok(
        "draft", "new", "--as", "chuyenvien", "--type", "Quyết định", "--subject",
        "Về việc ban hành danh mục hồ sơ", "--signer", "giamdoc", "--body-file", str(body),
    )  # fmt: skip
    doc = created.splitlines()[0].rsplit("#", 1)[1]
    attachment = tmp_path / "phu-luc.pdf"
    attachment.write_bytes(plain_pdf(pages=2))
    assert "văn bản kèm theo số 1" in ok(
        "draft", "attach", doc, str(attachment), "--as", "chuyenvien"
    )
    refused = vanthu_cli(home, "draft", "attach", doc, str(body), "--as", "chuyenvien")
    assert refused.returncode == 2 and refused.stderr.startswith("Lỗi:")  # not a PDF: invalid
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    for action, user in (("submit", "chuyenvien"), ("approve", "truongphong")):
        ok("act", doc, action, "--as", user)
    pin = load_demo_pki(demo_keys).demo_pin("giamdoc")
    signed = vanthu_cli(home, "act", doc, "sign", "--as", "giamdoc", env={"VANTHU_PIN": pin})
    assert signed.returncode == 0, signed.stderr
    ok("act", doc, "issue", "--as", "vanthu")
    copy = tmp_path / "ban-sao.pdf"
    assert "bản sao điện tử" in ok("doc", "copy", doc, "--as", "vanthu", "--out", str(copy))
    assert f"Signature Field Name: {FIELD_COPY}" in _run("pdfsig", "-nocert", copy)
    denied = vanthu_cli(home, "doc", "copy", doc, "--as", "chuyenvien", "--out", str(copy))
    assert denied.returncode == 4 and "văn thư" in denied.stderr  # the clerk's job: forbidden
    assert "Traceback" not in denied.stderr


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (b"<48 65\n6C6c\t6F> rest", b"Hello"),
        (b"<> rest", b""),
        (b"<4142 4> rest", b"AB@"),  # an odd digit count is padded with 0
        (b"<" + b"ab" * 40000 + b">", b"\xab" * 40000),  # longer than one read block
    ],
)
def test_the_faster_hex_string_reader_reads_as_pyhanko_does(source: bytes, expected: bytes) -> None:
    stream = io.BytesIO(source)
    value = generic.read_object(stream, generic.Reference(1, 0))
    assert bytes(value.original_bytes) == expected
    assert stream.read() == source[source.index(b">") + 1 :]


@pytest.mark.parametrize("source", [b"<41 4G>", b"<4142"])
def test_the_faster_hex_string_reader_refuses_what_pyhanko_refuses(source: bytes) -> None:
    with pytest.raises(PdfStreamError):
        generic.read_object(io.BytesIO(source), generic.Reference(1, 0))
