"""Five pyHanko 0.38 / asn1crypto hot spots replaced by equivalents that do the same work faster.

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
  prepared and compared as before.

All are installed once, when the signing package is imported; nothing else changes.
"""

from __future__ import annotations

import binascii
import functools
import re
from typing import IO

from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.misc import PDF_WHITESPACE, PdfStreamError
from pyhanko.sign import attributes, general

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


_ORIGINAL_NAME_EQ = asn1_x509.Name.__eq__


def name_eq(self: asn1_x509.Name, other: object) -> bool:
    """RFC 5280 name equality, identical encodings first."""
    if isinstance(other, asn1_x509.Name) and self.dump() == other.dump():
        return True
    result: bool = _ORIGINAL_NAME_EQ(self, other)
    return result


def install() -> None:
    """Put the replacements in place (idempotent)."""
    generic.read_hex_string_from_stream = read_hex_string
    attributes.as_signing_certificate_v2 = signing_certificate_v2
    asn1_x509.NameTypeAndValue._ldap_string_prep = _ldap_string_prep
    generic._decode_name = decode_name
    asn1_x509.Name.__eq__ = name_eq


install()
