"""edXML (QCVN 102:2016): what we build reads back the same, signed; what others send is read;
what is dangerous or broken is refused with one line."""

from __future__ import annotations

import base64
import dataclasses
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from engine.exchange import (
    STATUS_DESCRIPTIONS,
    Attachment,
    DocumentEnvelope,
    EdxmlUnreadable,
    Organ,
    ResponseFor,
    StatusMessage,
    build_document,
    build_status,
    make_document_id,
    parse,
    status_message,
)
from signing import SigningKey, load_pkcs12
from signing.demo import load_demo_pki

DATA = Path(__file__).parent / "data" / "edxml"
VANTHU = [sys.executable, "-m", "engine"]
SNV = Organ("000.00.00.H41", "Sở Nội vụ thành phố Hà Nội", in_charge="UBND thành phố Hà Nội")
STC = Organ("000.00.01.H41", "Sở Tài chính thành phố Hà Nội", email="stc@hanoi.gov.vn")
SXD = Organ("000.00.02.H41", "Sở Xây dựng thành phố Hà Nội", telephone="024.3825.1234")
WHEN = datetime(2026, 12, 5, 3, 4, 5, tzinfo=UTC)
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


@pytest.fixture(scope="module")
def key(demo_keys: Path) -> SigningKey:
    """The demo agency's seal key, loaded as engine.signatures.keys loads it."""
    pki = load_demo_pki(demo_keys)
    return load_pkcs12(pki.agency_p12, pki.passphrase_file.read_bytes().strip())


def quyet_dinh(**changes: object) -> DocumentEnvelope:
    envelope = DocumentEnvelope(
        sender=SNV,
        recipients=(STC, SXD),
        document_id=make_document_id(SNV.organ_id, date(2026, 12, 5), "05/QĐ-SNV"),
        code_number="05",
        code_notation="QĐ-SNV",
        place="Hà Nội",
        promulgation_date=date(2026, 12, 5),
        type_code="2",
        type_name="Quyết định",
        subject="Về việc bổ nhiệm công chức giữ chức vụ Trưởng phòng",
        attachments=(
            Attachment("05-QD-SNV.pdf", "application/pdf", PDF),
            Attachment("Phu-luc.pdf", "application/pdf", b"%PDF-1.4 phu luc"),
        ),
        content="Quyết định có hiệu lực kể từ ngày ký.",
        signer_competence="KT. GIÁM ĐỐC",
        signer_position="Phó Giám đốc",
        signer_name="Nguyễn Văn An",
        due_date=date(2026, 12, 20),
        priority=2,
        steering_type="1",
        to_places=("Như Điều 3;", "Lưu: VT, TCCB."),
        staff="vanthu",
        timestamp=WHEN,
    )
    return dataclasses.replace(envelope, **changes)  # type: ignore[arg-type]


def cong_van() -> DocumentEnvelope:
    return quyet_dinh(
        document_id=make_document_id(SNV.organ_id, date(2026, 12, 5), "06/SNV-VP"),
        code_number="06",
        code_notation="SNV-VP",
        type_code="18",
        type_name="Công văn",
        subject="V/v cử cán bộ tham dự tập huấn",
        attachments=(Attachment("06-SNV-VP.pdf", "application/pdf", PDF),),
        due_date=None,
        priority=0,
        response_for=ResponseFor(
            "000.00.01.H41", "12/STC-VP", date(2026, 11, 30), "000.00.01.H41,2026/11/30,12/STC-VP"
        ),
    )


# --- round trip and signature ----------------------------------------------------------------


@pytest.mark.parametrize(
    "envelope",
    [
        quyet_dinh(),
        cong_van(),
        quyet_dinh(
            business="recall",
            business_document_id="000.00.00.H41,2026/12/01,03/QĐ-SNV",
            business_reason="Ban hành nhầm đối tượng",
            attachments=(),
        ),
        quyet_dinh(
            business="replacement",
            business_document_id="000.00.00.H41,2026/12/01,03/QĐ-SNV",
            business_reason="Thay thế do sai sót ngày hiệu lực",
        ),
    ],
    ids=["quyet-dinh", "cong-van", "recall", "replacement"],
)
def test_every_document_we_build_reads_back_the_same_signed(
    envelope: DocumentEnvelope, key: SigningKey
) -> None:
    parsed = parse(build_document(envelope, key))
    assert parsed.message == envelope
    assert parsed.kind == "document"
    assert parsed.signature.verdict == "valid"
    assert parsed.signature.certificate == key.certificate
    assert parsed.signature.chain == key.chain
    assert parsed.signature.algorithm == "rsa-sha256"
    assert parsed.warnings == () and parsed.unknown_elements == ()


@pytest.mark.parametrize("code", sorted(STATUS_DESCRIPTIONS))
def test_every_status_we_build_reads_back_the_same(code: str, key: SigningKey) -> None:
    reason = "Văn bản gửi sai thẩm quyền" if code in {"02", "13", "16"} else ""
    document_id = make_document_id(SNV.organ_id, date(2026, 12, 5), "05/QĐ-SNV")
    status = status_message(STC, SNV, document_id, code, reason, staff="Lê Thị Mai", timestamp=WHEN)
    parsed = parse(build_status(status, key))
    assert parsed.message == status
    assert parsed.kind == "status"
    assert parsed.signature.verdict == "valid"
    assert isinstance(parsed.message, StatusMessage)
    assert parsed.message.description == STATUS_DESCRIPTIONS[code]


def test_each_message_has_its_own_id_and_times_are_written_in_vietnam_time(
    key: SigningKey,
) -> None:
    first, second = build_document(quyet_dinh(), key), build_document(quyet_dinh(), key)
    ids = {parse(first).message.message_id, parse(second).message.message_id}
    assert len(ids) == 2 and all(len(i) == 32 for i in ids)
    assert b"<Timestamp>2026/12/05 10:04:05</Timestamp>" in first
    assert b"<PromulgationDate>2026/12/05</PromulgationDate>" in first


def test_a_changed_subject_breaks_the_signature(key: SigningKey) -> None:
    data = build_document(quyet_dinh(), key)
    tampered = data.replace("bổ nhiệm".encode(), "miễn nhiệm".encode())
    check = parse(tampered).signature
    assert (check.present, check.valid, check.verdict) == (True, False, "invalid")
    assert "digest" in check.problem
    assert check.certificate == key.certificate  # who claims to have signed stays visible


def test_one_changed_attachment_byte_breaks_the_signature(key: SigningKey) -> None:
    data = build_document(quyet_dinh(), key)
    encoded = base64.b64encode(PDF)
    changed = bytearray(PDF)
    changed[500] ^= 0x01
    tampered = data.replace(encoded, base64.b64encode(bytes(changed)))
    assert tampered != data
    parsed = parse(tampered)
    assert parsed.message.attachments[0].data == bytes(changed)  # type: ignore[union-attr]
    assert parsed.signature.verdict == "invalid"


def test_a_signature_by_another_key_over_the_same_content_is_invalid(key: SigningKey) -> None:
    ec_key = _ec_key()
    data = build_document(quyet_dinh(), ec_key)
    assert parse(data).signature.verdict == "valid"
    assert parse(data).signature.algorithm == "ecdsa-sha256"
    # the RSA certificate swapped in: the signature value no longer verifies
    ours = base64.b64encode(key.certificate.public_bytes(_der())).decode()
    theirs = base64.b64encode(ec_key.certificate.public_bytes(_der())).decode()
    check = parse(data.replace(theirs.encode(), ours.encode())).signature
    assert check.verdict == "invalid" and check.problem


def test_a_signature_over_part_of_the_message_is_not_valid(key: SigningKey) -> None:
    data = build_document(quyet_dinh(), key).replace(b'<Reference URI="">', b'<Reference URI="#x">')
    check = parse(data).signature
    assert check.verdict == "invalid" and "whole message" in check.problem


def test_an_unsigned_envelope_says_so() -> None:
    parsed = parse((DATA / "foreign-sdk-cong-van.edxml").read_bytes())
    assert parsed.signature.present is False
    assert parsed.signature.verdict == "absent"


def test_a_key_that_cannot_sign_a_digest_is_refused_by_code(key: SigningKey) -> None:
    from signing import SigningError

    token_like = SigningKey(None, key.certificate, list(key.chain), signer=key.pyhanko_signer)
    with pytest.raises(SigningError) as refused:
        build_document(quyet_dinh(), token_like)
    assert refused.value.code == "signing.key.digest_unsupported"


# --- what other systems send -----------------------------------------------------------------


def test_an_sdk_envelope_with_the_edxml_prefix_and_a_zipped_doc() -> None:
    parsed = parse((DATA / "foreign-sdk-cong-van.edxml").read_bytes())
    e = parsed.message
    assert isinstance(e, DocumentEnvelope)
    assert (e.sender.organ_id, e.sender.name) == (
        "000.00.00.H20",
        "Văn phòng Ủy ban nhân dân tỉnh Đồng Tháp",
    )
    assert [r.organ_id for r in e.recipients] == ["000.00.00.H41"]
    assert e.document_id == "000.00.00.H20,2026/11/20,1234/UBND-VP"
    assert (e.code, e.type_code, e.type_name) == ("1234/UBND-VP", "18", "Công văn")
    assert (e.promulgation_date, e.due_date) == (date(2026, 11, 20), date(2026, 12, 1))
    assert e.timestamp == datetime(2026, 11, 20, 7, 35, 7, tzinfo=UTC)  # 14:35:07 in Vietnam
    assert (e.priority, e.business, e.staff) == (1, "new", "Trần Thị Hoa")
    assert e.to_places == ("Các sở, ban, ngành", "Lưu: VT")
    (attachment,) = e.attachments
    assert (attachment.name, attachment.content_type) == ("CV-1234-UBND-VP.doc", "application/zip")
    name, doc = attachment.unzipped()
    assert name == "CV-1234-UBND-VP.doc" and doc.startswith(b"\xd0\xcf\x11\xe0")
    assert parsed.unknown_elements == ("OtherInfo/ReferenceCodes",)
    assert len(e.message_id) == 64  # none sent: a digest of the message
    assert parse((DATA / "foreign-sdk-cong-van.edxml").read_bytes()).message.message_id == (
        e.message_id
    )


def test_an_ns2_recall_with_a_bom_and_stray_bytes_before_the_declaration() -> None:
    parsed = parse((DATA / "foreign-ns2-recall.edxml").read_bytes())
    e = parsed.message
    assert isinstance(e, DocumentEnvelope)
    assert parsed.warnings == ("6 stray bytes before the XML (offset 9) were skipped",)
    assert [r.name for r in e.recipients] == [
        "Sở Nội vụ thành phố Hà Nội",
        "Sở Tài chính thành phố Hà Nội",
    ]
    assert (e.business, e.business_reason) == ("recall", "Ban hành nhầm đối tượng")
    assert e.business_document_id == "000.00.12.H29,2026/09/30,85/QĐ-STC"
    assert e.promulgation_date == date(2026, 10, 2)  # written "2026/10/02 00:00:00"
    assert e.response_for == ResponseFor(
        "000.00.00.H41", "112/SNV-VP", date(2026, 9, 28), "000.00.00.H41,2026/09/28,112/SNV-VP"
    )
    assert e.attachments[0].data.startswith(b"%PDF-1.4")
    assert e.attachments[0].content_id == "cid:1"
    assert parsed.unknown_elements == ("MessageHeader/LgspRouting",)


def test_a_status_from_a_soap_system_with_day_first_times() -> None:
    parsed = parse((DATA / "foreign-status-soap.xml").read_bytes())
    s = parsed.message
    assert isinstance(s, StatusMessage)
    assert (s.sender.organ_id, s.recipient.organ_id) == ("000.00.00.H20", "000.00.00.H41")
    assert (s.status_code, s.description) == ("02", "Từ chối tiếp nhận")
    assert s.reason == "Văn bản gửi sai thẩm quyền"
    assert s.document_id == "000.00.00.H41,2026/12/05,05/QĐ-SNV"
    assert s.timestamp == datetime(2026, 12, 6, 9, 15, tzinfo=UTC) - timedelta(hours=7)
    assert s.staff == "Lê Thị Mai"


def test_a_qcvn_status_message_with_a_one_digit_code() -> None:
    s = parse((DATA / "foreign-status-03.edxml").read_bytes()).message
    assert isinstance(s, StatusMessage)
    assert (s.status_code, s.description, s.staff) == ("03", "Đã tiếp nhận", "Phạm Thu Trang")


# --- refused, with one line ------------------------------------------------------------------

ENVELOPE = (DATA / "foreign-status-03.edxml").read_text(encoding="utf-8")
BODY = ENVELOPE.split("?>", 1)[1]


def _refused(data: bytes, **kwargs: int) -> EdxmlUnreadable:
    with pytest.raises(EdxmlUnreadable) as refused:
        parse(data, **kwargs)
    error = refused.value
    assert "\n" not in str(error) and "\n" not in error.message_en
    return error


def test_an_external_entity_is_refused_and_never_read() -> None:
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        + BODY.replace("Phạm Thu Trang", "&xxe;")
    )
    error = _refused(xxe.encode())
    assert error.code == "exchange.edxml.doctype"
    assert "root:" not in error.message
    utf16 = _refused(xxe.replace('"1.0"?>', '"1.0" encoding="UTF-16"?>', 1).encode("utf-16"))
    assert utf16.code == "exchange.edxml.doctype"


def test_an_xml_bomb_is_refused() -> None:
    laughs = "".join(
        f'<!ENTITY l{i} "{"".join(f"&l{i - 1};" for _ in range(10))}">' for i in range(1, 10)
    )
    bomb = f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY l0 "ha">{laughs}]><x>&l9;</x>'
    assert _refused(bomb.encode()).code == "exchange.edxml.doctype"


def test_a_file_over_the_limit_is_refused_before_parsing() -> None:
    error = _refused(b"<" * 5000, max_bytes=4096)
    assert error.code == "exchange.edxml.too_large"
    assert "5000" in error.message_en and "4096" in error.message_en


def test_junk_before_the_xml_is_refused_naming_the_offset() -> None:
    junk = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n"
    error = _refused(junk + ENVELOPE.encode())
    assert error.code == "exchange.edxml.junk_before_xml"
    assert f"offset {len(junk)}" in error.message_en


def test_blank_lines_before_the_declaration_are_skipped_with_a_warning() -> None:
    parsed = parse(b"\n\n  \t" + ENVELOPE.encode())
    assert parsed.warnings == ("5 blank bytes before the XML (offset 5) were skipped",)


def test_broken_xml_names_the_line() -> None:
    error = _refused(ENVELOPE.encode()[:400])
    assert error.code == "exchange.edxml.malformed"
    assert "line" in error.message_en


def test_broken_base64_names_the_attachment(key: SigningKey) -> None:
    data = build_document(quyet_dinh(), key)
    encoded = base64.b64encode(b"%PDF-1.4 phu luc")
    error = _refused(data.replace(encoded, b"!!!" + encoded))
    assert error.code == "exchange.edxml.bad_base64"
    assert "Phu-luc.pdf" in error.message


def test_missing_sender_and_bad_dates_are_named() -> None:
    no_sender = ENVELOPE.replace("<OrganId>000.00.12.H29</OrganId>", "")
    assert "From/OrganId" in _refused(no_sender.encode()).message_en
    bad_date = ENVELOPE.replace("2026/12/06 10:20:30", "mùng 6 tháng 12")
    error = _refused(bad_date.encode())
    assert error.code == "exchange.edxml.bad_date" and "mùng 6" in error.message


def test_other_xml_is_not_taken_for_edxml() -> None:
    assert _refused(b"<html><body/></html>").code == "exchange.edxml.not_edxml"


# --- vanthu exchange inspect -----------------------------------------------------------------


def inspect(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run from an empty folder with a home that does not exist: inspect needs no agency."""
    return subprocess.run(
        [*VANTHU, "--home", str(tmp_path / "nonexistent"), "exchange", "inspect", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )


def test_inspect_prints_a_document_in_vietnamese(tmp_path: Path, key: SigningKey) -> None:
    file = tmp_path / "qd.edxml"
    file.write_bytes(build_document(quyet_dinh(), key).replace(b">05<", b">50<"))
    result = inspect(tmp_path, str(file))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Nơi gửi: Sở Nội vụ thành phố Hà Nội (000.00.00.H41)" in out
    assert out.count("Nơi nhận:") == 2
    assert "Số, ký hiệu: 50/QĐ-SNV" in out and "Ngày ban hành: 05/12/2026" in out
    assert f"05-QD-SNV.pdf (application/pdf, {len(PDF)} byte)" in out
    assert "Chữ ký số: KHÔNG hợp lệ" in out and "digest" in out
    assert not (tmp_path / "nonexistent").exists()


def test_inspect_json_for_a_status(tmp_path: Path, key: SigningKey) -> None:
    status = tmp_path / "status.edxml"
    document_id = make_document_id(SNV.organ_id, date(2026, 12, 5), "05/QĐ-SNV")
    made = status_message(STC, SNV, document_id, "02", "Sai thẩm quyền", timestamp=WHEN)
    status.write_bytes(build_status(made, key))
    result = inspect(tmp_path, str(status), "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["kind"] == "status"
    assert shown["from"] == {"organ_id": "000.00.01.H41", "name": "Sở Tài chính thành phố Hà Nội"}
    assert shown["to"] == [{"organ_id": "000.00.00.H41", "name": "Sở Nội vụ thành phố Hà Nội"}]
    assert shown["document_id"] == document_id
    assert (shown["status_code"], shown["description"]) == ("02", "Từ chối tiếp nhận")
    assert shown["reason"] == "Sai thẩm quyền"
    assert shown["signature"]["verdict"] == "valid" and shown["signature"]["present"] is True
    assert shown["warnings"] == []


def test_inspect_exits_3_with_one_line_when_unreadable(tmp_path: Path) -> None:
    junk = tmp_path / "junk.edxml"
    junk.write_bytes(b"x" * 100 + ENVELOPE.encode())
    refused = inspect(tmp_path, str(junk), "--json")
    missing = inspect(tmp_path, str(tmp_path / "missing.edxml"))
    for result in (refused, missing):
        assert result.returncode == 3
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr
    assert "vị trí 100" in refused.stderr
    assert json.loads(refused.stdout)["code"] == "exchange.edxml.junk_before_xml"


def test_the_inspect_summary_of_a_document(key: SigningKey) -> None:
    """The --json keys of a document, without starting a process."""
    from engine.cli.exchange import describe

    shown = describe(parse(build_document(cong_van(), key)))
    assert shown["kind"] == "document"
    assert shown["code"] == {"number": "06", "notation": "SNV-VP"}
    assert shown["promulgation_date"] == "2026-12-05"
    assert (shown["document_type"], shown["document_type_code"]) == ("Công văn", "18")
    assert shown["business"] == "new"
    assert shown["attachments"] == [
        {"name": "06-SNV-VP.pdf", "content_type": "application/pdf", "size": len(PDF)}
    ]
    assert shown["signature"]["verdict"] == "valid"


# --- helpers ---------------------------------------------------------------------------------


def _der() -> object:
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def _ec_key() -> SigningKey:
    """A self-signed ECDSA P-256 key: the other signature method a token may hold."""
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "DEMO EC")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    return SigningKey(private, certificate, [])
