"""PDFs as other agencies send them, verified as they are: signatures made by other tools
(adbe.pkcs7.detached in fields named Signature1…, as the government's desktop signing tool
makes them), PDFs encrypted with an owner password only, and readers' comments added under a
certification that allows them (DocMDP P=3) — while annotations that change what a reader sees
stay invalid.

Every file is made here: the signatures with pyHanko directly (tests/trust_support.py), the
encryption with pikepdf, the annotations by tests/pdf_attacks.py.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pdf_attacks as attacks
import pikepdf
import pytest
from pki_support import one_page_pdf, refusal
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from trust_support import Chain, odd_certificate, sign_pdf

from signing import DocumentReport, verify_document
from signing.demo import DemoPKI

VANTHU = [sys.executable, "-m", "engine"]


@pytest.fixture(scope="module")
def signer(demo_pki: DemoPKI) -> Chain:
    """Another agency's official: a certificate of the DEMO person CA, made outside Vanthu."""
    return odd_certificate(demo_pki, common_name="DEMO Lê Thị Cúc")


def _verify(pdf: bytes, pki: DemoPKI) -> DocumentReport:
    return verify_document(pdf, [pki.root_cert.read_bytes()])


def _pdfsig(pdf: Path) -> str:
    return subprocess.run(
        ["pdfsig", "-nocert", str(pdf)], capture_output=True, text=True, check=False
    ).stdout


# --- 5. the government's tool: adbe.pkcs7.detached in Signature1, Signature2 -----------------


@pytest.mark.parametrize(
    ("subfilter", "expected"),
    [(SigSeedSubFilter.ADOBE_PKCS7_DETACHED, "PKCS#7"), (SigSeedSubFilter.PADES, "PAdES")],
    ids=["pkcs7", "pades"],
)
def test_signatures_are_reported_in_their_real_format(
    subfilter: SigSeedSubFilter,
    expected: str,
    signer: Chain,
    demo_pki: DemoPKI,
    tmp_path: Path,
) -> None:
    first = sign_pdf(one_page_pdf(), signer, subfilter=subfilter, tsa_url=demo_pki.tsa_url)
    both = sign_pdf(
        first, signer, field="Signature2", subfilter=subfilter, tsa_url=demo_pki.tsa_url
    )
    path = tmp_path / "cong-van-den.pdf"
    path.write_bytes(both)
    # an independent reader confirms what the file holds
    written = "adbe.pkcs7.detached" if expected == "PKCS#7" else "ETSI.CAdES.detached"
    assert _pdfsig(path).count(f"Signature Type: {written}") == 2
    report = _verify(both, demo_pki)
    assert report.verdict == "valid", report.reasons
    assert [s.field for s in report.signatures] == ["Signature1", "Signature2"]
    assert [s.format for s in report.signatures] == [expected, expected]
    for signature in report.signatures:
        assert signature.timestamp_time is not None and signature.trusted
        # a PAdES level names PAdES signatures only
        assert signature.level == ("B-T" if expected == "PAdES" else None)
        assert signature.to_json()["format"] == expected


def test_vanthu_verify_shows_the_format(signer: Chain, demo_pki: DemoPKI, tmp_path: Path) -> None:
    path = tmp_path / "cong-van-den.pdf"
    path.write_bytes(
        sign_pdf(one_page_pdf(), signer, subfilter=SigSeedSubFilter.ADOBE_PKCS7_DETACHED)
    )
    nowhere = tmp_path / "ngoai"
    nowhere.mkdir()
    shown = subprocess.run(
        [*VANTHU, "--home", str(nowhere), "verify", str(path), "--trust", str(demo_pki.root_cert)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "Signature1" in shown.stdout and "định dạng PKCS#7" in shown.stdout
    assert "mức: -" in shown.stdout  # not called a PAdES level


# --- 3. encrypted with an owner password only --------------------------------------------------


def _owner_password_only(pdf: bytes) -> bytes:
    """Encrypted as many official PDFs are: opens without a password, editing restricted."""
    with pikepdf.open(io.BytesIO(pdf)) as document:
        out = io.BytesIO()
        document.save(
            out,
            encryption=pikepdf.Encryption(
                owner="mat-khau-chu-so-huu",
                user="",
                R=6,
                allow=pikepdf.Permissions(modify_other=False, modify_assembly=False),
            ),
        )
    return out.getvalue()


@pytest.mark.parametrize("tsa", [False, True], ids=["B-B", "B-T"])
def test_a_pdf_encrypted_with_an_owner_password_only_verifies(
    signer: Chain, demo_pki: DemoPKI, tsa: bool, tmp_path: Path
) -> None:
    encrypted = _owner_password_only(one_page_pdf())
    assert b"/Encrypt" in encrypted
    signed = sign_pdf(encrypted, signer, password="", tsa_url=demo_pki.tsa_url if tsa else None)
    path = tmp_path / "ma-hoa.pdf"
    path.write_bytes(signed)
    assert "Signature Validation: Signature is Valid." in _pdfsig(path)  # independently
    report = _verify(signed, demo_pki)
    assert report.verdict == "valid", report.reasons
    signature = report.signatures[0]
    assert (signature.field, signature.intact, signature.trusted) == ("Signature1", True, True)
    assert signature.covers == "whole_file" and signature.problems == ()


def test_a_pdf_that_needs_a_password_to_open_is_named_so(signer: Chain) -> None:
    with pikepdf.open(io.BytesIO(one_page_pdf())) as document:
        out = io.BytesIO()
        document.save(out, encryption=pikepdf.Encryption(owner="chu", user="nguoi-doc", R=6))
    signed = sign_pdf(out.getvalue(), signer, password="nguoi-doc")
    with refusal("signing.pdf.password_required") as caught:
        verify_document(signed, [])
    assert caught.value.kind == "invalid"


# --- 4. comments under DocMDP P=3, evil annotations ---------------------------------------------


@pytest.fixture(scope="module")
def certified_for_comments(signer: Chain) -> bytes:
    """The attackers' prepared decision (tests/pdf_attacks.py), certified at P=3."""
    return sign_pdf(attacks.shadow_document(), signer, certify=MDPPerm.ANNOTATE)


def test_a_comment_added_under_a_certification_allowing_annotations_is_valid(
    certified_for_comments: bytes, demo_pki: DemoPKI
) -> None:
    commented = attacks.comment_annotation(certified_for_comments)
    report = _verify(commented, demo_pki)
    assert report.verdict == "valid", report.reasons
    signature = report.signatures[0]
    assert signature.certification and signature.docmdp == "annotations"
    assert signature.modification == "annotations" and signature.covers == "earlier_revision"


def test_a_comment_breaks_a_certification_that_allows_form_filling_only(
    signer: Chain, demo_pki: DemoPKI
) -> None:
    certified = sign_pdf(attacks.shadow_document(), signer, certify=MDPPerm.FILL_FORMS)
    report = _verify(attacks.comment_annotation(certified), demo_pki)
    assert report.verdict == "invalid"
    assert report.signatures[0].modification == "annotations"
    assert any("thêm chú thích" in r for r in report.reasons)


EVIL: dict[str, Callable[[bytes], bytes]] = {
    "free_text_over_the_text": attacks.overlay_annotation,
    "square_over_the_text": lambda pdf: attacks.overlay_annotation(pdf, "/Square"),
    "stamp_over_the_text": lambda pdf: attacks.overlay_annotation(pdf, "/Stamp"),
    "note_stretched_over_the_text": lambda pdf: attacks.overlay_annotation(pdf, "/Text"),
    "overlay_removed": attacks.shadow_hide,
}


@pytest.mark.parametrize("attack", sorted(EVIL))
def test_annotations_that_change_what_a_reader_sees_stay_invalid(
    attack: str, certified_for_comments: bytes, demo_pki: DemoPKI
) -> None:
    report = _verify(EVIL[attack](certified_for_comments), demo_pki)
    assert report.verdict == "invalid", report.to_json()
    signature = report.signatures[0]
    assert signature.modification == "other" and not signature.valid
    assert any("thay đổi sau khi ký" in r for r in report.reasons)
