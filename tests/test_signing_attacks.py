"""Known attacks on PDF signatures never come out `valid`, and the report names the problem.

The corpus (tests/pdf_attacks.py) starts from a decision the DEMO director certifies and the
agency seals through the real outgoing-flow functions; every attack is then applied to that
issued file. The document itself is prepared for the shadow attacks (an overlay, a second
definition of the page's content object), and is valid as signed.
"""

from __future__ import annotations

from collections.abc import Callable

import pdf_attacks as attacks
import pytest
from pdf_support import LAYOUT

from signing import (
    FIELD_NUMBER,
    DocumentReport,
    SigningKey,
    add_form_fields,
    certify,
    issue,
    verify_document,
)
from signing.demo import DemoPKI, draw_seal_image, draw_signature_image


@pytest.fixture(scope="module")
def issued(leader_key: SigningKey, agency_key: SigningKey) -> bytes:
    prepared = add_form_fields(attacks.shadow_document(), LAYOUT)
    certified = certify(prepared, leader_key, draw_signature_image("Nguyễn Văn An"))
    return issue(
        certified,
        number="09/QĐ-SNV",
        date_text="ngày 09 tháng 01 năm 2026",
        key=agency_key,
        seal_image=draw_seal_image("DEMO Sở Nội vụ tỉnh Mẫu", "Ủy ban nhân dân tỉnh Mẫu"),
    )


@pytest.fixture(scope="module")
def roots(demo_pki: DemoPKI) -> list[bytes]:
    return [demo_pki.root_cert.read_bytes()]


def _check(report: DocumentReport, *words: str) -> None:
    """Not valid, and some reason (Vietnamese and English) names the problem."""
    assert report.verdict != "valid", report.to_json()
    assert report.verdict in ("invalid", "indeterminate")
    joined = " ".join(report.reasons)
    assert any(word in joined for word in words), (words, report.reasons)
    assert len(report.reasons_en) == len(report.reasons)
    assert not any(s.valid for s in report.signatures if s.modification == "other")


def test_the_prepared_document_is_valid_as_signed(issued: bytes, roots: list[bytes]) -> None:
    report = verify_document(issued, roots)
    assert report.verdict == "valid", report.reasons
    assert [s.kind for s in report.signatures] == ["person", "organisation"]


_CHANGED = ("thay đổi sau khi ký", "sửa nội dung")

INCREMENTAL: dict[str, Callable[[bytes], bytes]] = {
    "page_content_replaced": attacks.replace_page_content,
    "page_added": attacks.add_page,
    "font_changed": attacks.change_font,
    "object_redefined_by_hand": attacks.raw_object_override,
}


@pytest.mark.parametrize("attack", sorted(INCREMENTAL))
def test_content_changed_after_signing_is_invalid(
    attack: str, issued: bytes, roots: list[bytes]
) -> None:
    forged = INCREMENTAL[attack](issued)
    report = verify_document(forged, roots)
    _check(report, *_CHANGED)
    assert report.verdict == "invalid"
    assert all(s.intact for s in report.signatures)  # the signed bytes themselves are untouched
    assert report.signatures[-1].modification == "other"


WRAPPING: dict[str, Callable[[bytes], bytes]] = {
    "overlapping": attacks.overlapping_byte_range,
    "moved": attacks.moved_byte_range,
    "wrapped": attacks.wrapped_signature,
}


@pytest.mark.parametrize("attack", sorted(WRAPPING))
def test_signature_wrapping_is_invalid(attack: str, issued: bytes, roots: list[bytes]) -> None:
    report = verify_document(WRAPPING[attack](issued), roots)
    _check(report, "/ByteRange")
    assert report.verdict == "invalid"
    assert not report.signatures[-1].valid


@pytest.mark.parametrize("forgery", sorted(attacks.CONTENTS_FORGERIES))
def test_universal_forgery_of_contents_is_invalid(
    forgery: str, issued: bytes, roots: list[bytes]
) -> None:
    report = verify_document(attacks.CONTENTS_FORGERIES[forgery](issued), roots)
    _check(report, "/Contents", "không đọc được")
    assert report.verdict == "invalid"


@pytest.mark.parametrize("forgery", sorted(attacks.BYTE_RANGE_FORGERIES))
def test_universal_forgery_of_byte_range_is_invalid(
    forgery: str, issued: bytes, roots: list[bytes]
) -> None:
    report = verify_document(attacks.BYTE_RANGE_FORGERIES[forgery](issued), roots)
    _check(report, "/ByteRange")
    assert report.verdict == "invalid"


def test_shadow_hide_removing_an_overlay_is_invalid(issued: bytes, roots: list[bytes]) -> None:
    report = verify_document(attacks.shadow_hide(issued), roots)
    _check(report, *_CHANGED, "thêm chú thích")
    assert report.verdict == "invalid"


def test_shadow_replace_of_a_locked_field_value_is_invalid(
    issued: bytes, roots: list[bytes]
) -> None:
    forged = attacks.shadow_replace_field(issued, FIELD_NUMBER, "99/QĐ-SNV")
    report = verify_document(forged, roots)
    _check(report, "chỉ đọc", *_CHANGED)
    assert report.verdict == "invalid"


def test_shadow_hide_and_replace_by_xref_alone_is_invalid(
    issued: bytes, roots: list[bytes]
) -> None:
    forged = attacks.shadow_hide_and_replace(issued)
    assert forged.startswith(issued) and b" obj" not in forged[len(issued) :]
    report = verify_document(forged, roots)
    _check(report, *_CHANGED)
    assert report.verdict == "invalid"
