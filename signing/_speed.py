"""Nine pyHanko 0.38 / asn1crypto hot spots replaced by equivalents that do the same work faster.

Profiled on a one-page seal (``python -m bench.signing``):

- Reading a signature dictionary parses its /Contents hex string one byte per Python call
  (``read_hex_string_from_stream``): ~8 ms for the 16 KB reserved, paid by every check that
  opens a signed PDF's signature (certification, DocMDP, validation). Here the string is read
  in blocks with the same rules: whitespace skipped, '>' ends it, any other byte is an error,
  an odd digit count is padded with 0.
- The signing-certificate-v2 attribute is rebuilt from Python values for every signature and
  asn1crypto serialises it again each time it is nested (~9 ms). Its value depends only on
  the certificate, so it is built once per certificate and handed out parsed from its DER.
- Validation compares certificate names (issuer and serial matching, the certificate
  registry, finding an OCSP responder) after RFC 4518 string preparation, done one character
  at a time and kept only on the parsed name object; every PDF and OCSP answer brings freshly
  parsed copies of the same few Vietnamese names (~15% of a validation). The preparation
  depends on the string alone, so its result is kept per process in a bounded table.
- Every PDF name read (``/Type``, ``/Annots``, …) is decoded one byte per Python call,
  ``#xx`` escapes expanded (~6% of a validation, most of it the difference analysis reading
  both revisions). The decoded text depends on the bytes alone: it is kept per process in a
  bounded table, and each read still gets a name object of its own (pyHanko sets the
  object's container on it).
- Comparing two names (``Name.__eq__``, RFC 5280 7.1) prepares every value of both, though
  nearly every comparison during validation is between two copies of the same encoded name
  (issuer and serial matching, ~9% of a validation). Two names with the same DER encoding are
  equal under any preparation, so that is checked first; only different encodings are
  prepared and compared as before, once per pair of encodings: the answer depends on the two
  encodings alone, and is kept per process in a bounded table (most other comparisons are
  between the same few names: the issuers of a batch against each certificate carried).
  A name's ``hashable`` key (the certificate registry's index, ~6% of a validation) is kept
  per encoding the same way, as are the OCSP responders a certificate names (its AIA
  extension, read for every revocation check: ~2%).
- The difference analysis copies every object of the signed revision to resolve it there
  (``HistoricalResolver._subsume_object``), calling itself for each number of a /Widths or
  /MediaBox array (~5% of a validation); a plain value whose container is an object is
  handed back as it is, as pyHanko does after finding that container, without the call.
- Every certificate and OCSP answer of a batch has its signature checked again for each
  document (~2%): a signature that verified on the same bytes (their SHA-256), key, algorithm
  and context is not checked again; one that does not verify is checked, and fails, each time.
- Every name or keyword read from a PDF is read one byte per Python call until a delimiter
  (``read_until_delimiter``, ~5% of a validation); here it is read in blocks with the same
  rules, the stream left on the delimiter as before.
- asn1crypto's ``dump()`` encodes again, on every call, each value whose length ends in the
  byte 0x80, taking it for an indefinite length (~8% of a validation): :mod:`signing._der`.

All are installed once, when the signing package is imported; nothing else changes.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import re
import threading
from collections import OrderedDict
from typing import IO

from asn1crypto import algos, cms, tsp
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PDF_WHITESPACE, PdfStreamError
from pyhanko.pdf_utils.reader import HistoricalResolver
from pyhanko.sign import attributes, general
from pyhanko_certvalidator import sig_validate
from pyhanko_certvalidator.revinfo import manager as revinfo_manager

from signing import _der

_NOT_HEX = re.compile(rb"[^0-9A-Fa-f \n\r\t\f\x00]")
_BLOCK = 65536


def read_hex_string(stream: IO[bytes]) -> generic.ByteStringObject | generic.TextStringObject:
    """pyHanko's ``read_hex_string_from_stream``, reading blocks instead of single bytes."""
    stream.read(1)  # the opening '<'
    start = stream.tell()
    chunks: list[bytes] = []
    consumed = 0
    while True:
        block = stream.read(_BLOCK)
        if not block:
            raise PdfStreamError("Stream ended prematurely")
        found = _NOT_HEX.search(block)
        if found is None:
            chunks.append(block)
            consumed += len(block)
            continue
        end = found.start()
        if block[end : end + 1] != b">":
            raise PdfStreamError("Unexpected token in hex string: " + repr(block[end : end + 1]))
        chunks.append(block[:end])
        stream.seek(start + consumed + end + 1)
        break
    digits = b"".join(chunks).translate(None, PDF_WHITESPACE)
    if len(digits) % 2:
        digits += b"0"
    return generic.pdf_string(binascii.unhexlify(digits))


@functools.lru_cache(maxsize=32)
def _signing_certificate_v2_der(cert_der: bytes, hash_algo: str) -> bytes:
    cert = asn1_x509.Certificate.load(cert_der)
    return bytes(_ORIGINAL_SIGNING_CERTIFICATE_V2(cert, hash_algo).dump())


def signing_certificate_v2(
    cert: asn1_x509.Certificate, hash_algo: str = "sha256"
) -> tsp.SigningCertificateV2:
    """The attribute value for ``cert``, built once and then loaded from its DER encoding."""
    return tsp.SigningCertificateV2.load(_signing_certificate_v2_der(cert.dump(), hash_algo))


_ORIGINAL_SIGNING_CERTIFICATE_V2 = general.as_signing_certificate_v2


_ORIGINAL_PREP = asn1_x509.NameTypeAndValue._ldap_string_prep


@functools.lru_cache(maxsize=4096)
def _prepared(value: str) -> str:
    result: str = _ORIGINAL_PREP(None, value)
    return result


def _ldap_string_prep(self: asn1_x509.NameTypeAndValue, string: object) -> object:
    if isinstance(string, str):
        return _prepared(string)
    return _ORIGINAL_PREP(self, string)


_ORIGINAL_DECODE_NAME = generic._decode_name


@functools.lru_cache(maxsize=8192)
def _decoded_name(name_bytes: bytes) -> str:
    return str(_ORIGINAL_DECODE_NAME(name_bytes))


def decode_name(name_bytes: bytes) -> generic.NameObject:
    """pyHanko's ``_decode_name``, its text kept per byte string (errors raised every time)."""
    return generic.NameObject(_decoded_name(bytes(name_bytes)))


def name_eq(self: asn1_x509.Name, other: object) -> bool:
    """RFC 5280 name equality (``Name.__eq__`` compares the chosen RDN sequences): identical
    encodings first, then the answer kept for the pair of encodings."""
    if not isinstance(other, asn1_x509.Name):
        return False
    if self.dump() == other.dump():
        return True
    return _names_equal(self.chosen.dump(), other.chosen.dump())


@functools.lru_cache(maxsize=4096)
def _names_equal(first: bytes, second: bytes) -> bool:
    result: bool = asn1_x509.RDNSequence.load(first) == asn1_x509.RDNSequence.load(second)
    return result


def name_hashable(self: asn1_x509.Name) -> str:
    """``Name.hashable`` (the prepared values joined), kept per encoding."""
    return _hashable(self.chosen.dump())


@functools.lru_cache(maxsize=4096)
def _hashable(encoded: bytes) -> str:
    result: str = asn1_x509.RDNSequence.load(encoded).hashable
    return result


_ORIGINAL_OCSP_URLS = revinfo_manager.get_ocsp_urls


def ocsp_urls(cert: asn1_x509.Certificate | cms.AttributeCertificateV2) -> list[str]:
    """The OCSP responders a certificate names (its AIA), kept per encoding."""
    return list(_ocsp_urls(isinstance(cert, asn1_x509.Certificate), cert.dump()))


@functools.lru_cache(maxsize=1024)
def _ocsp_urls(certificate: bool, encoded: bytes) -> tuple[str, ...]:
    kind = asn1_x509.Certificate if certificate else cms.AttributeCertificateV2
    return tuple(_ORIGINAL_OCSP_URLS(kind.load(encoded)))


_ORIGINAL_VALIDATE_SIGNATURE = sig_validate.DefaultSignatureValidator.validate_signature
_VERIFIED: OrderedDict[tuple[bytes, bytes, bytes, bytes, object], None] = OrderedDict()
_VERIFIED_LOCK = threading.Lock()
_VERIFIED_SIZE = 1024


def validate_signature(
    self: sig_validate.DefaultSignatureValidator,
    signature: bytes,
    signed_data: bytes,
    public_key_info: asn1_keys.PublicKeyInfo,
    signature_algorithm: algos.SignedDigestAlgorithm,
    context: sig_validate.SignatureValidationContext = sig_validate.DEFAULT_VALIDATION_CONTEXT,
) -> None:
    """pyhanko_certvalidator's signature check, done once per signature, signed bytes (their
    SHA-256), key, algorithm and context; one that does not verify raises every time."""
    seen = (
        bytes(signature),
        hashlib.sha256(signed_data).digest(),
        public_key_info.dump(),
        signature_algorithm.dump(),
        context,
    )
    with _VERIFIED_LOCK:
        if seen in _VERIFIED:
            _VERIFIED.move_to_end(seen)
            return
    _ORIGINAL_VALIDATE_SIGNATURE(
        self, signature, signed_data, public_key_info, signature_algorithm, context
    )
    with _VERIFIED_LOCK:
        _VERIFIED[seen] = None
        while len(_VERIFIED) > _VERIFIED_SIZE:
            _VERIFIED.popitem(last=False)


_ORIGINAL_SUBSUME = HistoricalResolver._subsume_object
_PLAIN = frozenset(
    {
        generic.NumberObject,
        generic.FloatObject,
        generic.NameObject,
        generic.BooleanObject,
        generic.NullObject,
        generic.TextStringObject,
        generic.ByteStringObject,
    }
)


def subsume_object(self: HistoricalResolver, obj: generic.PdfObject) -> generic.PdfObject:
    """``HistoricalResolver._subsume_object``, a plain value read from the file first: pyHanko
    hands it back as it is once its container is known to be an object's."""
    if type(obj) in _PLAIN and type(obj.container_ref) is generic.Reference:
        return obj
    return _ORIGINAL_SUBSUME(self, obj)


_DELIMITER = re.compile(rb"[ \n\r\t\f\x00()<>\[\]{}/%]")
_NAME_BLOCK = 64


def read_until_delimiter(stream: IO[bytes]) -> bytes:
    """pyHanko's ``read_until_delimiter``, reading blocks instead of single bytes: the bytes up
    to the next PDF whitespace or delimiter, the stream left on that byte (or at its end)."""
    start = stream.tell()
    chunks: list[bytes] = []
    while True:
        block = stream.read(_NAME_BLOCK)
        if not block:
            break
        found = _DELIMITER.search(block)
        if found is not None:
            chunks.append(block[: found.start()])
            break
        chunks.append(block)
    result = b"".join(chunks)
    stream.seek(start + len(result))
    return result


def install() -> None:
    """Put the replacements in place (idempotent)."""
    _der.install()
    generic.read_hex_string_from_stream = read_hex_string
    attributes.as_signing_certificate_v2 = signing_certificate_v2
    asn1_x509.NameTypeAndValue._ldap_string_prep = _ldap_string_prep
    generic._decode_name = decode_name
    asn1_x509.Name.__eq__ = name_eq
    asn1_x509.Name.hashable = property(name_hashable)
    generic.read_until_delimiter = read_until_delimiter
    revinfo_manager.get_ocsp_urls = ocsp_urls
    HistoricalResolver._subsume_object = subsume_object  # type: ignore[method-assign]
    sig_validate.DefaultSignatureValidator.validate_signature = validate_signature  # type: ignore[method-assign]


install()
