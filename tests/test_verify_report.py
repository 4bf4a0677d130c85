"""`vanthu verify` on a document issued by the engine: every field, exit codes, HTML/PDF report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session

from engine.automation import open_workspace
from engine.core.agency import create_demo_agency
from engine.core.config import load_settings, write_settings_file
from engine.signatures import keys
from engine.workflow.files import latest_file
from storage import get_content
from tests_support import issue_document

VANTHU = [sys.executable, "-m", "engine"]


def vanthu(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VANTHU, "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **env} if env else None,
    )


class Agency:
    def __init__(self, home: Path, issued: Path, root: Path) -> None:
        self.home, self.issued, self.root = home, issued, root


@pytest.fixture(scope="module")
def agency(tmp_path_factory: pytest.TempPathFactory, demo_keys: Path) -> Agency:
    """A demo agency (SQLite, folder store) that issued one decision, exported to a file."""
    home = tmp_path_factory.mktemp("verify-agency")
    settings = load_settings(
        home,
        database_url=f"sqlite:///{home / 'vanthu.db'}",
        pki_dir=demo_keys,
        steps_runner="inline",
    )
    write_settings_file(
        home,
        {
            "database_url": f"sqlite:///{home / 'vanthu.db'}",
            "pki_dir": str(demo_keys),
            "steps_runner": "inline",
        },
    )
    ws = open_workspace(settings)
    create_demo_agency(ws)
    doc = issue_document(ws)
    with Session(ws.db) as session:
        pdf = get_content(ws.store, latest_file(session, doc, "issued").sha256)
    issued = home / "issued.pdf"
    issued.write_bytes(pdf)
    keys.trust_roots(ws)  # starts the DEMO PKI's OCSP/CRL services in this process
    return Agency(home, issued, demo_keys / "root.pem")


def test_json_report_has_every_field_for_both_signatures(agency: Agency) -> None:
    result = vanthu(agency.home, "verify", str(agency.issued), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)  # nothing but the JSON on stdout
    assert report["verdict"] == "valid" and report["reasons"] == [] == report["reasons_en"]
    assert report["revisions"] >= 3
    leader, seal = report["signatures"]
    assert (leader["kind"], seal["kind"]) == ("person", "organisation")
    assert (leader["type"], seal["type"]) == ("signature", "signature")
    # B-LT: the validation data in an update after the seal (B-T: the seal ends the file)
    long_term = b"/DSS" in agency.issued.read_bytes()
    assert leader["covers"] == "earlier_revision" and not leader["covers_whole_file"]
    assert seal["covers"] == ("earlier_revision" if long_term else "whole_file")
    assert seal["covers_whole_file"] is not long_term
    assert leader["signed_revision"] < seal["signed_revision"] <= report["revisions"]
    assert leader["modification"] == "form_filling" and seal["modification"] == "none"
    assert leader["certification"] and leader["docmdp"] == "form_filling"
    assert report["trust_lists"] == ["agency"]
    for sig in (leader, seal):
        assert sig["intact"] and sig["trusted"] and sig["valid"]
        assert sig["trust_list"] == "agency" and sig["format"] == "PAdES"
        assert sig["verdict"] == "valid" and sig["indication"] == "TOTAL_PASSED"
        assert sig["subindication"] is None
        assert sig["revocation"] == "good" and sig["revocation_source"] in ("online", "embedded")
        assert sig["revocation_time"] is None and sig["revocation_reason"] is None
        assert sig["claimed_signing_time"].endswith("+07:00")
        assert sig["level"] == ("B-LT" if long_term else "B-T")
        assert sig["timestamp_time"].endswith("+07:00")
        assert sig["signing_time"] == sig["timestamp_time"]
        assert int(sig["serial"], 16) > 0 and sig["issuer"].startswith("DEMO CA")
        assert sig["problems"] == [] == sig["problems_en"]
    assert leader["signer"].startswith("DEMO ") and seal["organisation"]


def test_text_output_names_signers_and_verdict(agency: Agency) -> None:
    result = vanthu(agency.home, "verify", str(agency.issued))
    assert result.returncode == 0, result.stderr
    assert "HỢP LỆ" in result.stdout and "chứng thư cá nhân" not in result.stderr
    assert "cá nhân" in result.stdout and "cơ quan" in result.stdout
    assert "Traceback" not in result.stderr


def test_unsigned_is_4_and_unreadable_is_3(agency: Agency, tmp_path: Path) -> None:
    reader_pdf = tmp_path / "unsigned.pdf"
    reader_pdf.write_bytes(_unsigned_pdf())
    result = vanthu(agency.home, "verify", str(reader_pdf), "--json")
    assert result.returncode == 4, result.stderr
    assert json.loads(result.stdout)["verdict"] == "unsigned"
    garbage = tmp_path / "rac.pdf"
    garbage.write_bytes(b"%PDF-1.7\n this is not really a PDF")
    result = vanthu(agency.home, "verify", str(garbage), "--json")
    assert result.returncode == 3
    assert json.loads(result.stdout)["verdict"] is None
    missing = vanthu(agency.home, "verify", str(tmp_path / "khong-co.pdf"))
    assert missing.returncode == 3 and missing.stderr.startswith("Lỗi:")


def test_trust_is_repeatable_and_works_outside_an_agency(agency: Agency, tmp_path: Path) -> None:
    nowhere = tmp_path / "khong-phai-co-quan"
    nowhere.mkdir()
    untrusted = vanthu(nowhere, "verify", str(agency.issued), "--json")
    # no agency, no --trust: nothing to trust, refused as asked wrongly (no report at all)
    assert untrusted.returncode == 2 and untrusted.stdout == "", untrusted.stdout
    assert untrusted.stderr.startswith("Lỗi:")
    stranger = tmp_path / "goc-la.pem"
    stranger.write_bytes(_other_root_pem())
    only_stranger = vanthu(
        nowhere, "verify", str(agency.issued), "--json", "--trust", str(stranger)
    )
    assert only_stranger.returncode == 2, only_stranger.stdout
    report = json.loads(only_stranger.stdout)
    assert report["verdict"] == "indeterminate"
    assert all(not s["trusted"] for s in report["signatures"])
    assert any("gốc tin cậy" in r for r in report["reasons"])
    assert any("trusted root" in r for r in report["reasons_en"])
    both = vanthu(
        nowhere,
        "verify",
        str(agency.issued),
        "--json",
        "--trust",
        str(stranger),
        "--trust",
        str(agency.root),
    )
    assert both.returncode == 0, both.stdout
    assert json.loads(both.stdout)["verdict"] == "valid"


def test_html_and_pdf_reports_carry_the_signers_vietnamese_name(
    agency: Agency, tmp_path: Path
) -> None:
    report = json.loads(vanthu(agency.home, "verify", str(agency.issued), "--json").stdout)
    signer = report["signatures"][0]["signer"]
    assert any(ch in signer for ch in "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ")
    html = tmp_path / "bao-cao.html"
    result = vanthu(agency.home, "verify", str(agency.issued), "--report", str(html))
    assert result.returncode == 0, result.stderr
    text = html.read_text(encoding="utf-8")
    assert signer in text and "HỢP LỆ" in text and "chứng thư cá nhân" in text
    pdf = tmp_path / "bao-cao.pdf"
    result = vanthu(agency.home, "verify", str(agency.issued), "--json", "--report", str(pdf))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["verdict"] == "valid"
    assert pdf.read_bytes().startswith(b"%PDF-")
    shown = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert signer in shown
    assert "KẾT QUẢ KIỂM TRA CHỮ KÝ SỐ" in shown and "Tình trạng thu hồi lúc ký" in shown
    refused = vanthu(agency.home, "verify", str(agency.issued), "--report", str(tmp_path / "x.doc"))
    assert refused.returncode == 2 and refused.stdout == "", refused.stdout  # asked wrongly
    assert refused.stderr.startswith("Lỗi: --report")


def test_the_report_says_which_trust_list_judged_the_file(agency: Agency, tmp_path: Path) -> None:
    """The agency's own roots; with government_trust also the government's list; --trust files
    as the list given for this check. A signature names the list its chain ends at."""
    own = json.loads(vanthu(agency.home, "verify", str(agency.issued), "--json").stdout)
    assert own["trust_lists"] == ["agency"]
    government = {"VANTHU_GOVERNMENT_TRUST": "true"}
    stranger = tmp_path / "goc-la.pem"
    stranger.write_bytes(_other_root_pem())
    args = ("verify", str(agency.issued), "--json", "--trust", str(stranger))
    answer = vanthu(agency.home, *args, env=government)
    assert answer.returncode == 0, answer.stdout + answer.stderr
    report = json.loads(answer.stdout)
    assert report["trust_lists"] == ["agency", "government", "given"]
    assert [s["trust_list"] for s in report["signatures"]] == ["agency", "agency"]
    assert [s["format"] for s in report["signatures"]] == ["PAdES", "PAdES"]
    text = vanthu(agency.home, "verify", str(agency.issued), env=government)
    assert text.returncode == 0, text.stderr
    assert (
        "Danh sách tin cậy dùng để kiểm tra: chứng thư gốc của cơ quan, danh sách tin cậy của "
        "Chính phủ" in text.stdout
    ), text.stdout
    assert "tin cậy: có (chứng thư gốc của cơ quan)" in text.stdout
    assert "định dạng PAdES" in text.stdout
    html = tmp_path / "bao-cao.html"
    made = vanthu(agency.home, "verify", str(agency.issued), "--report", str(html), env=government)
    assert made.returncode == 0, made.stderr
    shown = html.read_text(encoding="utf-8")
    assert "Danh sách tin cậy dùng để kiểm tra" in shown
    assert "danh sách tin cậy của Chính phủ" in shown and "theo chứng thư gốc của cơ quan" in shown
    only_given = vanthu(
        tmp_path, "verify", str(agency.issued), "--json", "--trust", str(agency.root)
    )
    given = json.loads(only_given.stdout)
    assert given["trust_lists"] == ["given"] and given["verdict"] == "valid"
    assert {s["trust_list"] for s in given["signatures"]} == {"given"}


def test_a_trust_file_that_is_not_a_certificate_is_asked_wrongly(
    agency: Agency, tmp_path: Path
) -> None:
    junk = tmp_path / "goc.pem"
    junk.write_text("không phải chứng thư", encoding="utf-8")
    refused = vanthu(agency.home, "verify", str(agency.issued), "--trust", str(junk))
    assert refused.returncode == 2 and refused.stdout == "", refused.stdout
    assert refused.stderr.startswith("Lỗi:") and "Traceback" not in refused.stderr


def _unsigned_pdf() -> bytes:
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

    writer = PdfFileWriter(stream_xrefs=False)
    page = PageObject(
        contents=writer.add_object(generic.StreamObject(stream_data=b"")),
        media_box=generic.ArrayObject(generic.NumberObject(v) for v in (0, 0, 595, 842)),
    )
    writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _other_root_pem() -> bytes:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Gốc lạ")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)
