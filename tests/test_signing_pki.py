"""The DEMO PKI, PKCS#12 keys, and the signature and seal images."""

from __future__ import annotations

import io
import json
import shutil
import stat
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from PIL import Image
from pki_support import refusal

from signing import SigningKey, load_pkcs12, pkcs12_password
from signing.demo import (
    DemoPKI,
    Identity,
    create_demo_pki,
    draw_seal_image,
    draw_signature_image,
    load_demo_pki,
)


def _p12_certificates(path: Path, pki: DemoPKI) -> list[x509.Certificate]:
    owners = {file: name for name, file in pki.people.items()}  # a person's opens with their PIN
    password = pkcs12_password(path, pki.demo_pin(owners[path])) if path in owners else None
    _key, cert, chain = pkcs12.load_key_and_certificates(
        path.read_bytes(), password or pki.passphrase_file.read_bytes().strip()
    )
    assert cert is not None
    return [cert, *chain]


def _value(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    return str(name.get_attributes_for_oid(oid)[0].value)


def test_every_certificate_chains_to_the_demo_root_and_says_demo(demo_pki: DemoPKI) -> None:
    root = x509.load_pem_x509_certificate(demo_pki.root_cert.read_bytes())
    assert _value(root.subject, NameOID.COMMON_NAME).startswith("DEMO RootCA chuyên dùng")
    issuers = set()
    for path in (demo_pki.agency_p12, *demo_pki.people.values()):
        leaf, sub_ca, chain_root = _p12_certificates(path, demo_pki)
        leaf.verify_directly_issued_by(sub_ca)
        sub_ca.verify_directly_issued_by(root)
        assert chain_root == root
        for cert in (leaf, sub_ca):
            assert "DEMO" in _value(cert.subject, NameOID.COMMON_NAME)
            assert "DEMO" in _value(cert.subject, NameOID.ORGANIZATION_NAME)
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
        issuers.add(_value(leaf.issuer, NameOID.COMMON_NAME))
    assert len(issuers) == 2  # one sub-CA for people, one for agencies


def test_a_personal_certificate_names_the_official_and_their_agency(demo_pki: DemoPKI) -> None:
    leaf = _p12_certificates(demo_pki.people["giamdoc"], demo_pki)[0]
    assert _value(leaf.subject, NameOID.COMMON_NAME) == "DEMO Nguyễn Văn An"
    assert _value(leaf.subject, NameOID.ORGANIZATION_NAME) == "DEMO Sở Nội vụ tỉnh Mẫu"
    assert _value(leaf.subject, NameOID.TITLE) == "Giám đốc"
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.RFC822Name) == ["giamdoc@snv.mau.example"]


def test_keys_and_passphrase_are_readable_by_the_owner_only(demo_pki: DemoPKI) -> None:
    passphrase = demo_pki.passphrase_file.read_bytes().strip()
    assert len(passphrase) >= 24
    files = (demo_pki.passphrase_file, demo_pki.demo_pins_file, demo_pki.agency_p12)
    for path in (*files, *demo_pki.people.values()):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_load_demo_pki_finds_what_create_wrote(demo_pki: DemoPKI) -> None:
    loaded = load_demo_pki(demo_pki.directory)
    assert loaded.root_cert == demo_pki.root_cert
    assert loaded.agency_p12 == demo_pki.agency_p12
    assert dict(loaded.people) == dict(demo_pki.people)
    assert loaded.passphrase_file == demo_pki.passphrase_file


def test_load_demo_pki_names_a_missing_file(demo_pki: DemoPKI, tmp_path: Path) -> None:
    copy = tmp_path / "pki"
    shutil.copytree(demo_pki.directory, copy)
    (copy / demo_pki.people["phogiamdoc"].name).unlink()
    with refusal("signing.demo.file_missing", missing="phogiamdoc.p12") as caught:
        load_demo_pki(copy)
    assert "phogiamdoc.p12" in str(caught.value)  # the message names the missing file
    (copy / "pki.json").write_text("{}", encoding="utf-8")
    with refusal("signing.demo.manifest_corrupt", file=str(copy / "pki.json")):
        load_demo_pki(copy)


def test_create_refuses_to_overwrite_a_pki(demo_pki: DemoPKI) -> None:
    manifest = json.loads((demo_pki.directory / "pki.json").read_text(encoding="utf-8"))
    assert set(manifest["people"]) == {"giamdoc", "phogiamdoc"}
    with refusal("signing.demo.exists") as caught:
        create_demo_pki(demo_pki.directory, Identity("DEMO X", "DEMO Y", None, None, None), {})
    assert caught.value.kind == "conflict"


def test_loaded_key_reports_its_certificate(demo_pki: DemoPKI, leader_key: SigningKey) -> None:
    leaf = _p12_certificates(demo_pki.people["giamdoc"], demo_pki)[0]
    assert leader_key.serial == leaf.serial_number
    assert "CN=DEMO Nguyễn Văn An" in leader_key.certificate_subject


def test_wrong_passphrase_is_a_clear_signing_error(demo_pki: DemoPKI) -> None:
    key_file = str(demo_pki.agency_p12)
    with refusal("signing.key.wrong_passphrase", file=key_file) as caught:
        load_pkcs12(demo_pki.agency_p12, b"not the passphrase")
    assert caught.value.retryable is False
    assert demo_pki.agency_p12.name in str(caught.value)


def test_a_file_that_is_not_pkcs12_is_refused(demo_pki: DemoPKI) -> None:
    with refusal("signing.key.wrong_passphrase", file=str(demo_pki.root_cert)):
        load_pkcs12(demo_pki.root_cert, demo_pki.passphrase_file.read_bytes().strip())
    with refusal("signing.key.file_unreadable") as caught:
        load_pkcs12(demo_pki.directory / "missing.p12", b"x")
    assert caught.value.kind == "config"


def _rgba(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.mode == "RGBA"
    return image


def _ink(image: Image.Image) -> list[tuple[int, int, int, int]]:
    pixels = [p for p in image.get_flattened_data() if isinstance(p, tuple)]
    return [(p[0], p[1], p[2], p[3]) for p in pixels if p[3] > 128]


def test_signature_image_is_blue_ink_on_transparent_ground() -> None:
    png = draw_signature_image("Nguyễn Văn An")
    image = _rgba(png)
    ink = _ink(image)
    assert len(ink) > 1000
    assert all(b > 120 and r < 80 and g < 100 for r, g, b, _a in ink)
    assert image.getpixel((0, 0))[3] == 0  # type: ignore[index]
    assert draw_signature_image("Nguyễn Văn An") == png  # the same name, the same signature
    assert draw_signature_image("Phạm Minh Đức") != png


def test_seal_image_is_round_red_and_real_size() -> None:
    image = _rgba(draw_seal_image("DEMO Sở Nội vụ tỉnh Mẫu", "Ủy ban nhân dân tỉnh Mẫu"))
    assert image.size == (425, 425)  # 36 mm at 300 dpi
    assert round(image.info["dpi"][0]) == 300
    ink = _ink(image)
    assert all(r > 180 and g < 80 and b < 80 for r, g, b, _a in ink)
    size = image.width
    for corner in ((0, 0), (size - 1, 0), (0, size - 1), (size - 1, size - 1), (40, 40)):
        assert image.getpixel(corner)[3] == 0, corner  # type: ignore[index]
    # the outer ring is inked where a circle of the full diameter passes, on all four sides
    for x, y in ((size // 2, 6), (size // 2, size - 7), (6, size // 2), (size - 7, size // 2)):
        assert image.getpixel((x, y))[3] > 200, (x, y)  # type: ignore[index]
