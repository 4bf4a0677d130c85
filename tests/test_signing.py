"""The outgoing flow's signatures on a real PDF: fields, certification, issue, validation.

Every signed file is also checked by poppler's pdfsig, an independent validator trusting only
the DEMO root through its own NSS database.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import NoEncryption
from cryptography.x509.oid import ExtendedKeyUsageOID
from pdf_support import LAYOUT, SIGNER_BOX, text_pdf
from PIL import Image, ImageChops
from pki_support import refusal
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import PdfTimeStamper
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing import (
    FIELD_DATE,
    FIELD_NUMBER,
    FIELD_SEAL,
    FIELD_SIGNER,
    Box,
    FormLayout,
    SigningKey,
    add_form_fields,
    certify,
    issue,
    verify_document,
)
from signing.demo import DemoPKI, draw_seal_image, draw_signature_image

NUMBER = "05/QĐ-UBND"
DATE = "ngày 05 tháng 01 năm 2026"
BODY = b"Noi dung van ban thu nghiem"


def one_page_pdf() -> bytes:
    """A4 page with the words of a Decree 30 document in the places LAYOUT points at."""
    words = [
        (60, 780, b"SO NOI VU TINH MAU"),
        (60, 750, b"So:"),
        (310, 750, b"Tinh Mau,"),
        (250, 650, b"QUYET DINH"),
        (80, 600, BODY),
        (405, 330, b"GIAM DOC"),
        (395, 235, b"Nguyen Van An"),
    ]
    return text_pdf([words])


@dataclass(frozen=True)
class Flow:
    """Each stage of one document through the outgoing flow."""

    with_fields: bytes
    certified: bytes
    issued: bytes


@pytest.fixture(scope="module")
def seal_png() -> bytes:
    return draw_seal_image("DEMO Sở Nội vụ tỉnh Mẫu", "Ủy ban nhân dân tỉnh Mẫu")


@pytest.fixture(scope="module")
def flow(leader_key: SigningKey, agency_key: SigningKey, seal_png: bytes) -> Flow:
    with_fields = add_form_fields(one_page_pdf(), LAYOUT)
    certified = certify(
        with_fields, leader_key, draw_signature_image("Nguyễn Văn An"), location="Tỉnh Mẫu"
    )
    issued = issue(
        certified,
        number=NUMBER,
        date_text=DATE,
        key=agency_key,
        seal_image=seal_png,
    )
    return Flow(with_fields, certified, issued)


@pytest.fixture(scope="module")
def roots(demo_pki: DemoPKI) -> list[bytes]:
    return [demo_pki.root_cert.read_bytes()]


def test_issued_document_is_valid_and_the_leader_saw_only_form_filling(
    flow: Flow, roots: list[bytes]
) -> None:
    report = verify_document(flow.issued, roots)
    assert report.verdict == "valid", report.reasons
    leader, seal = report.signatures
    assert (leader.field, seal.field) == (FIELD_SIGNER, FIELD_SEAL)
    assert leader.signer == "DEMO Nguyễn Văn An"
    assert leader.issuer == "DEMO CA phục vụ cá nhân Vanthu"
    assert leader.certification and leader.docmdp == "form_filling"
    assert leader.modification == "form_filling"
    assert leader.valid and leader.intact and leader.trusted and not leader.covers_whole_file
    assert seal.signer == "DEMO Sở Nội vụ tỉnh Mẫu"
    assert seal.organisation == "DEMO Ủy ban nhân dân tỉnh Mẫu"
    assert seal.valid and seal.covers_whole_file and not seal.certification
    assert seal.modification == "none" and seal.problems == ()
    for signature in report.signatures:
        assert signature.signing_time is not None
        assert signature.signing_time.utcoffset() == timedelta(hours=7)
    json_report = report.to_json()
    assert json_report["verdict"] == "valid"
    assert json_report["signatures"][0]["signing_time"].endswith("+07:00")


def test_certified_document_is_valid_before_the_number_exists(
    flow: Flow, roots: list[bytes]
) -> None:
    report = verify_document(flow.certified, roots)
    assert report.verdict == "valid"
    (leader,) = report.signatures
    assert leader.modification == "none" and leader.covers_whole_file


def test_signature_dictionaries_show_vietnam_time(flow: Flow) -> None:
    reader = PdfFileReader(io.BytesIO(flow.issued))
    times = [str(s.sig_object["/M"]) for s in reader.embedded_signatures]
    assert len(times) == 2
    assert all(re.fullmatch(r"D:\d{14}\+07'00'", when) for when in times), times


def test_issue_fills_number_and_date_read_only_in_one_update(flow: Flow) -> None:
    certified = PdfFileReader(io.BytesIO(flow.certified))
    issued = PdfFileReader(io.BytesIO(flow.issued))
    assert issued.xrefs.total_revisions == certified.xrefs.total_revisions + 1
    fields = {
        str(f.get_object()["/T"]): f.get_object() for f in issued.root["/AcroForm"]["/Fields"]
    }
    assert str(fields[FIELD_NUMBER]["/V"]) == NUMBER
    assert str(fields[FIELD_DATE]["/V"]) == DATE
    assert int(fields[FIELD_NUMBER]["/Ff"]) & 1 and int(fields[FIELD_DATE]["/Ff"]) & 1


def _pdfsig(pdf: bytes, root_pem: Path, work: Path) -> str:
    """pdfsig's report, trusting only ``root_pem`` through a fresh NSS database.

    Without ``-no-ocsp``: poppler 22.12 reads NSS's error code without checking the verify
    call's result, and with OCSP disabled a stale code turns every trusted chain into "Unknown
    issue with Certificate". The DEMO certificates name no OCSP responder, so nothing is fetched.
    """
    nss = work / "nss"
    nss.mkdir(exist_ok=True)
    database = f"sql:{nss}"
    if not (nss / "cert9.db").exists():
        subprocess.run(["certutil", "-N", "-d", database, "--empty-password"], check=True)
        trust = ["-n", "demo-root", "-t", "CT,C,C", "-i", str(root_pem)]
        subprocess.run(["certutil", "-A", "-d", database, *trust], check=True)
    path = work / "document.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(
        ["pdfsig", "-nssdir", database, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout


def test_pdfsig_accepts_both_signatures(flow: Flow, demo_pki: DemoPKI, tmp_path: Path) -> None:
    out = _pdfsig(flow.issued, demo_pki.root_cert, tmp_path)
    assert out.count("Signature Validation: Signature is Valid.") == 2, out
    assert out.count("Certificate Validation: Certificate is Trusted.") == 2, out
    assert out.count("- Total document signed") == 1, out
    assert out.count("- Not total document signed") == 1, out
    assert "Signer Certificate Common Name: DEMO Nguyễn Văn An" in out
    assert "Signer Certificate Common Name: DEMO Sở Nội vụ tỉnh Mẫu" in out


def test_a_byte_changed_inside_the_signed_range_is_caught(
    flow: Flow, demo_pki: DemoPKI, roots: list[bytes], tmp_path: Path
) -> None:
    assert flow.issued.count(BODY) == 1
    tampered = flow.issued.replace(BODY, BODY.replace(b"thu", b"ThU"))
    report = verify_document(tampered, roots)
    assert report.verdict == "invalid"
    assert not any(signature.intact for signature in report.signatures)
    assert any("mã băm" in reason for reason in report.reasons)
    out = _pdfsig(tampered, demo_pki.root_cert, tmp_path)
    assert "Signature is Valid." not in out, out


def _with_page_rewritten(pdf: bytes) -> bytes:
    """An incremental update that replaces what the first page says."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref = writer.find_page_for_modification(0)[0]
    forged = b"BT /F1 13 Tf 80 600 Td (Noi dung da bi sua) Tj ET"
    page_ref.get_object()["/Contents"] = writer.add_object(generic.StreamObject(stream_data=forged))
    writer.update_container(page_ref.get_object())
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_an_update_changing_the_page_after_issue_is_caught(flow: Flow, roots: list[bytes]) -> None:
    report = verify_document(_with_page_rewritten(flow.issued), roots)
    assert report.verdict == "invalid"
    leader, seal = report.signatures
    assert leader.intact and seal.intact  # the signed bytes are untouched; the change is after
    assert leader.modification == seal.modification == "other"
    assert not leader.valid and not seal.valid


def test_a_root_nobody_configured_is_not_trusted(flow: Flow) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Gốc lạ")])
    other = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(x509.load_der_x509_certificate(_first_cert(flow)).not_valid_before_utc)
        .not_valid_after(x509.load_der_x509_certificate(_first_cert(flow)).not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    report = verify_document(flow.issued, [other.public_bytes(serialization.Encoding.DER)])
    assert report.verdict == "indeterminate"
    assert all(s.intact and not s.trusted and not s.valid for s in report.signatures)
    assert any("gốc tin cậy" in reason for reason in report.reasons)


def _tsa() -> tuple[bytes, DummyTimeStamper]:
    """A throwaway time-stamping authority: its root (DER) and an in-process stamper."""
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "DEMO TSA Root")])
    tsa_name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "DEMO TSA")])
    start = datetime.now(UTC) - timedelta(hours=1)

    def builder(name: x509.Name, key: rsa.RSAPrivateKey) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(root_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=2))
        )

    root = (
        builder(root_name, root_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    tsa = (
        builder(tsa_name, tsa_key)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    der = serialization.Encoding.DER
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(tsa.public_bytes(der)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            tsa_key.private_bytes(der, serialization.PrivateFormat.PKCS8, NoEncryption())
        ),
        certs_to_embed=SimpleCertificateStore.from_certs(
            [asn1_x509.Certificate.load(root.public_bytes(der))]
        ),
    )
    return root.public_bytes(der), stamper


def test_a_document_timestamp_is_reported_not_refused(flow: Flow, roots: list[bytes]) -> None:
    tsa_root, stamper = _tsa()
    out = PdfTimeStamper(stamper).timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(flow.issued)), "sha256"
    )
    report = verify_document(out.getvalue(), [*roots, tsa_root])
    assert report.verdict == "valid", report.reasons
    leader, seal, stamp = report.signatures
    assert stamp.signer == "DEMO TSA" and stamp.valid and stamp.covers_whole_file
    assert seal.modification == "none"  # a timestamp adds nothing the seal should worry about
    assert leader.valid and leader.modification == "form_filling"


def _first_cert(flow: Flow) -> bytes:
    reader = PdfFileReader(io.BytesIO(flow.certified))
    return bytes(reader.embedded_signatures[0].signer_cert.dump())


def test_a_garbled_signature_is_reported_not_raised(flow: Flow, roots: list[bytes]) -> None:
    start = flow.issued.rindex(b"/Contents <") + len(b"/Contents <")
    garbled = flow.issued[:start] + b"ff" * 40 + flow.issued[start + 80 :]
    report = verify_document(garbled, roots)
    assert report.verdict == "invalid"
    assert report.signatures[-1].valid is False
    assert report.signatures[-1].problems


def test_unsigned_and_not_pdf(flow: Flow, roots: list[bytes]) -> None:
    assert verify_document(flow.with_fields, roots).verdict == "unsigned"
    with refusal("signing.pdf.not_pdf") as caught:
        verify_document(b"PK\x03\x04 a zip file", roots)
    assert caught.value.kind == "invalid"


def test_issue_refuses_an_uncertified_pdf(
    flow: Flow, agency_key: SigningKey, seal_png: bytes
) -> None:
    with refusal("signing.certification.missing"):
        issue(flow.with_fields, number=NUMBER, date_text=DATE, key=agency_key, seal_image=seal_png)


def test_issue_refuses_a_pdf_changed_after_the_leader_signed(
    flow: Flow, agency_key: SigningKey, seal_png: bytes
) -> None:
    changed = _with_page_rewritten(flow.certified)
    with refusal("signing.certification.broken"):
        issue(changed, number=NUMBER, date_text=DATE, key=agency_key, seal_image=seal_png)


def test_issue_refuses_a_pdf_without_fields(agency_key: SigningKey, seal_png: bytes) -> None:
    with refusal("signing.fields.missing", field=FIELD_NUMBER):
        issue(one_page_pdf(), number=NUMBER, date_text=DATE, key=agency_key, seal_image=seal_png)


def test_issue_refuses_an_issued_pdf(flow: Flow, agency_key: SigningKey, seal_png: bytes) -> None:
    with refusal("signing.issue.already_issued") as caught:
        issue(flow.issued, number=NUMBER, date_text=DATE, key=agency_key, seal_image=seal_png)
    assert caught.value.kind == "conflict"


def test_keys_are_used_for_their_own_kind_of_signature(
    flow: Flow, leader_key: SigningKey, agency_key: SigningKey, seal_png: bytes
) -> None:
    wrong = "signing.policy.wrong_kind"
    with refusal(wrong, expected="person", found="organisation") as caught:
        certify(flow.with_fields, agency_key, draw_signature_image("Sở Nội vụ"))
    assert caught.value.certificate_serial == agency_key.serial
    assert "chứng thư số của cơ quan" in str(caught.value)  # says which key the clerk used
    with refusal(wrong, expected="organisation", certificate_serial=leader_key.serial):
        issue(flow.certified, number=NUMBER, date_text=DATE, key=leader_key, seal_image=seal_png)


def test_certify_refuses_a_signed_pdf(flow: Flow, leader_key: SigningKey) -> None:
    with refusal("signing.certify.already_signed"):
        certify(flow.certified, leader_key, draw_signature_image("Nguyễn Văn An"))


def test_add_form_fields_refuses_a_page_that_does_not_exist() -> None:
    layout = FormLayout(
        number=LAYOUT.number, date=LAYOUT.date, signer=Box(3, 1, 1, 2, 2), seal=LAYOUT.seal
    )
    with refusal("signing.fields.page_missing", field=FIELD_SIGNER, page=4, pages=1):
        add_form_fields(one_page_pdf(), layout)


def _render(pdf: bytes, work: Path) -> Image.Image:
    """The first page at 72 dpi, so one pixel is one PDF point."""
    (work / "issued.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "72", "-png", "-singlefile", "issued.pdf", "page"], cwd=work, check=True
    )
    return Image.open(work / "page.png").convert("RGB")


def _crop(page: Image.Image, box: Box) -> Image.Image:
    height = page.height
    return page.crop((int(box.x1), int(height - box.y2), int(box.x2), int(height - box.y1)))


def _count(image: Image.Image, test: Callable[[tuple[int, ...]], bool]) -> int:
    return sum(1 for p in image.get_flattened_data() if isinstance(p, tuple) and test(p))


def _red_ink(page: Image.Image) -> Image.Image:
    """White where the page is seal red, black elsewhere."""
    red, green, blue = (page.getchannel(c) for c in "RGB")
    strong = red.point(lambda v: 255 if v > 150 else 0)
    no_green = green.point(lambda v: 255 if v < 90 else 0)
    no_blue = blue.point(lambda v: 255 if v < 90 else 0)
    return ImageChops.multiply(ImageChops.multiply(strong, no_green), no_blue)


def test_the_issued_page_shows_seal_signature_and_number(flow: Flow, tmp_path: Path) -> None:
    page = _render(flow.issued, tmp_path)
    red = _crop(page, LAYOUT.seal)
    blue = _crop(page, Box(0, LAYOUT.seal.x2, SIGNER_BOX.y1, SIGNER_BOX.x2, SIGNER_BOX.y2))
    assert _count(red, lambda p: p[0] > 150 and p[1] < 90 and p[2] < 90) > 400
    left, top, right, bottom = _red_ink(page).getbbox() or (0, 0, 0, 0)
    assert abs((right - left) - 36 * 72 / 25.4) <= 3  # the seal at real size, 36 mm
    assert abs((bottom - top) - (right - left)) <= 2  # and round
    assert _count(blue, lambda p: p[2] > 120 and p[0] < 90) > 50
    number = _crop(page, LAYOUT.number)
    assert _count(number, lambda p: max(p) < 100) > 30  # dark text filled in
    before = _crop(_render(flow.certified, tmp_path), LAYOUT.number)
    assert _count(before, lambda p: max(p) < 100) == 0
