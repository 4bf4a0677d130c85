"""PAdES levels B-B, B-T, B-LT, B-LTA against the DEMO PKI's local TSA, OCSP and CRL services.

Each level is checked three ways: by the file's own structure (timestamp token, DSS, document
timestamp), by `signing.verify_document`, and by two independent validators — poppler's pdfsig
and pyHanko's own CLI.
"""

from __future__ import annotations

import asyncio
import io
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pki_support import LAYOUT, Keys, issued, make_keys, one_page_pdf, pyhanko_validate, refusal
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore

from signing import (
    LEVELS,
    Level,
    SigningPolicy,
    add_form_fields,
    archival_timestamp_expiry,
    certify,
    make_archival,
    renew_archival_timestamp,
    signing_policy,
    verify_document,
)
from signing._pki import free_port
from signing.demo import draw_signature_image, stop_pki_services
from tests_support import pdfsig_lines


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("levels-pki"))


@pytest.fixture(scope="module")
def signed(keys: Keys) -> dict[Level, bytes]:
    """One issued document per level (the seal at that level)."""
    return {level: issued(keys, level) for level in LEVELS}


def _reader(pdf: bytes) -> PdfFileReader:
    return PdfFileReader(io.BytesIO(pdf), strict=False)


def _dss(pdf: bytes) -> tuple[int, int]:
    """How many OCSP responses and CRLs the document security store holds."""
    root = _reader(pdf).root
    if "/DSS" not in root:
        return 0, 0
    dss = root["/DSS"]
    ocsps = dss.get("/OCSPs")
    crls = dss.get("/CRLs")
    return (len(ocsps) if ocsps else 0, len(crls) if crls else 0)


def _seal_has_timestamp_token(pdf: bytes) -> bool:
    seal = _reader(pdf).embedded_regular_signatures[-1]
    unsigned = seal.signer_info["unsigned_attrs"]
    return any(a["type"].native == "signature_time_stamp_token" for a in unsigned or [])


@pytest.mark.parametrize("level", LEVELS)
def test_each_level_is_produced_and_recognised(
    level: Level, signed: dict[Level, bytes], keys: Keys
) -> None:
    pdf = signed[level]
    reader = _reader(pdf)
    assert _seal_has_timestamp_token(pdf) == (level != "B-B")
    ocsps, crls = _dss(pdf)
    assert (ocsps + crls > 0) == (level in ("B-LT", "B-LTA"))
    assert len(reader.embedded_timestamp_signatures) == (1 if level == "B-LTA" else 0)

    report = verify_document(pdf, list(keys.roots))
    seal = next(s for s in report.signatures if s.field == "chu_ky_co_quan")
    assert seal.level == level
    assert report.verdict == "valid", report.reasons


@pytest.mark.parametrize("level", LEVELS)
def test_pdfsig_and_pyhanko_cli_judge_each_level_valid(
    level: Level, signed: dict[Level, bytes], keys: Keys, tmp_path: Path
) -> None:
    path = tmp_path / f"{level}.pdf"
    path.write_bytes(signed[level])
    out = "\n".join(pdfsig_lines(path, keys.pki.root_cert, tmp_path / "nss"))
    assert out.count("Signature Validation: Signature is Valid.") == 2, out
    assert out.count("Certificate Validation: Certificate is Trusted.") == 2, out
    judged = pyhanko_validate(path, keys.pki.root_cert)
    assert judged.returncode == 0, judged.stdout + judged.stderr
    lines = [line for line in judged.stdout.splitlines() if line.startswith("chu_ky_")]
    assert len(lines) == 2 and all(":INTACT:TRUSTED" in line for line in lines), judged.stdout
    if level != "B-B":
        assert "TIMESTAMP_TOKEN<INTACT:TRUSTED>" in lines[-1]


def test_archival_then_renewal_adds_a_second_document_timestamp(
    signed: dict[Level, bytes], keys: Keys, tmp_path: Path
) -> None:
    archived = make_archival(signed["B-T"], trust_roots=keys.roots, tsa_url=keys.pki.tsa_url)
    assert len(_reader(archived).embedded_timestamp_signatures) == 1
    ocsps, _ = _dss(archived)
    assert ocsps >= 2  # the leader's and the seal's chains at least
    first = archival_timestamp_expiry(archived)
    assert first is not None and first > datetime.now(UTC) + timedelta(days=365)

    renewed = renew_archival_timestamp(archived, trust_roots=keys.roots, tsa_url=keys.pki.tsa_url)
    assert renewed.startswith(archived)  # an incremental update: nothing earlier rewritten
    assert len(_reader(renewed).embedded_timestamp_signatures) == 2
    assert archival_timestamp_expiry(renewed) is not None
    assert archival_timestamp_expiry(signed["B-B"]) is None

    report = verify_document(renewed, list(keys.roots))
    assert report.verdict == "valid", report.reasons
    path = tmp_path / "renewed.pdf"
    path.write_bytes(renewed)
    judged = pyhanko_validate(path, keys.pki.root_cert)
    assert judged.returncode == 0, judged.stdout + judged.stderr
    out = "\n".join(pdfsig_lines(path, keys.pki.root_cert, tmp_path / "nss"))
    assert out.count("Signature Validation: Signature is Valid.") >= 2, out


def test_archival_is_one_update_whose_timestamp_covers_every_chain(
    signed: dict[Level, bytes], keys: Keys
) -> None:
    """The archival copy adds one incremental update: the DSS with the validation data of both
    signatures and of the TSA, then the document timestamp over it. A validator compares one
    revision more (not one per signature and another for the timestamp), and needs no service
    of ours: the second document of a batch, archived with what the first one fetched, too."""
    for level in ("B-T", "B-LT"):
        issued_pdf = signed[level]
        archived = make_archival(issued_pdf, trust_roots=keys.roots, tsa_url=keys.pki.tsa_url)
        assert archived.startswith(issued_pdf)
        before, after = _reader(issued_pdf).xrefs, _reader(archived).xrefs
        assert after.total_revisions == before.total_revisions + 1
        report = verify_document(archived, list(keys.roots), fetch=False)
        assert report.verdict == "valid", report.reasons_en
        regular = [s for s in report.signatures if s.field.startswith("chu_ky_")]
        assert [s.level for s in regular] == ["B-LTA", "B-LTA"]
        assert all(s.revocation_source == "embedded" for s in regular)


def test_renewal_needs_a_document_timestamp_and_a_level_needs_a_tsa(
    signed: dict[Level, bytes], keys: Keys
) -> None:
    with refusal("signing.archival.no_timestamp"):
        renew_archival_timestamp(signed["B-T"], trust_roots=keys.roots, tsa_url=keys.pki.tsa_url)
    with refusal("signing.policy.tsa_missing", level="B-T") as caught:
        SigningPolicy(trust_roots=keys.roots, level="B-T")
    assert caught.value.kind == "config"
    with refusal("signing.policy.level_unknown", level="B-X"):
        SigningPolicy(trust_roots=keys.roots, level="B-X")  # type: ignore[arg-type]


def test_an_unreachable_tsa_refuses_the_signature(keys: Keys) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}/tsa"
    policy = SigningPolicy(trust_roots=keys.roots, level="B-T", tsa_url=nowhere)
    with refusal("signing.tsa.unavailable", url=nowhere) as caught, signing_policy(policy):
        certify(add_form_fields(one_page_pdf(), LAYOUT), keys.leader, draw_signature_image("An"))
    assert caught.value.retryable and caught.value.kind == "unavailable"


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> tuple[Keys, bytes]:
    """A document issued at B-LT by a PKI of its own, whose OCSP, CRL and TSA services are then
    stopped for good: what a recipient has years later is the file and the root."""
    keys = make_keys(tmp_path_factory.mktemp("offline-pki"))
    pdf = issued(keys, "B-LT")
    stop_pki_services(keys.pki)
    return keys, pdf


def _pyhanko_offline(pdf: bytes, root: Path) -> dict[str, bool]:
    """pyHanko's judgement of each signature from what the file carries (its DSS), fetching
    nothing: a certificate that names a revocation service must be vouched for from inside."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    context = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {
            "trust_roots": [load_cert_from_pemder(str(root))],
            "allow_fetching": False,
            "revocation_mode": "hard-fail",
        }
    )
    return {
        str(signature.field_name): validate_pdf_signature(signature, context).bottom_line
        for signature in reader.embedded_regular_signatures
    }


def test_an_issued_pdf_at_b_lt_validates_offline(
    offline: tuple[Keys, bytes], tmp_path: Path
) -> None:
    """The seal at B-LT carries the revocation data of every signature in the file, the
    leader's certification under it too, so no service of ours needs to answer any more.

    poppler's pdfsig reads no DSS (and 22.12 misreports every chain with -no-ocsp), so offline
    it vouches for the signature values; pyHanko, from the DSS alone, for the chains and their
    revocation status."""
    keys, pdf = offline
    with pytest.raises(OSError):  # nothing answers: any fetch would fail
        urllib.request.urlopen(f"{keys.pki.base_url}/health", timeout=5)
    report = verify_document(pdf, list(keys.roots), fetch=False)
    assert report.verdict == "valid", report.reasons_en
    for signature in report.signatures:
        assert signature.level == "B-LT", signature.field
        assert (signature.revocation, signature.revocation_source) == ("good", "embedded")
    assert _pyhanko_offline(pdf, keys.pki.root_cert) == {
        "chu_ky_nguoi_ky": True,
        "chu_ky_co_quan": True,
    }
    path = tmp_path / "B-LT.pdf"
    path.write_bytes(pdf)
    out = "\n".join(pdfsig_lines(path, keys.pki.root_cert, tmp_path / "nss"))
    assert out.count("Signature Validation: Signature is Valid.") == 2, out
    assert "not signed" not in out  # and no empty signature field waits in the original


def test_a_signature_made_inside_an_event_loop_keeps_its_level(
    signed: dict[Level, bytes], keys: Keys
) -> None:
    """A caller already in an event loop (Playwright's sync API, an async Prefect task, a web
    handler) gets the level its policy asks for, not a bare B-B without a timestamp."""

    async def in_a_loop() -> bytes:
        return issued(keys, "B-LT")

    pdf = asyncio.run(in_a_loop())
    assert _seal_has_timestamp_token(pdf)
    report = verify_document(pdf, list(keys.roots))
    seal = next(s for s in report.signatures if s.field == "chu_ky_co_quan")
    assert seal.level == "B-LT" and seal.timestamp_time is not None
