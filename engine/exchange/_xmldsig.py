"""Enveloped XML signatures (XML-DSig) over a whole edXML message.

Signing builds the ``Signature`` itself (exclusive c14n, RSA-SHA256 or ECDSA-SHA256, the
certificate and its chain in ``X509Data``) so that only a SHA-256 digest reaches the key:
``SigningKey.sign_digest`` works the same for a key file and a token. Verification is signxml's,
against the certificate the signature carries: it says whether the message is intact and which
certificate signed it; whether that certificate may speak for the sending agency is the exchange
runtime's question.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLVerifier
from signxml.exceptions import InvalidDigest, InvalidInput, InvalidSignature

from engine.exchange._safe import parser
from signing import SigningKey

DSIG = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
_WHOLE = {
    ENVELOPED,
    EXC_C14N,
    EXC_C14N + "WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2006/12/xml-c14n11#WithComments",
}
"""Transforms that keep the whole message: the enveloped signature and canonicalisations."""
_ACCEPTED = SignatureConfiguration(
    location=".//",
    expect_references=1,
    signature_methods=frozenset(SignatureMethod) - {m for m in SignatureMethod if "HMAC" in m.name},
    digest_algorithms=frozenset(DigestAlgorithm),
)
"""Signatures as deployed systems make them: SHA-1 still common (reported as ``weak``)."""


@dataclass(frozen=True)
class SignatureCheck:
    """What the message's own signature says, before anyone decides to trust the signer."""

    present: bool
    """The message carries an XML signature."""
    valid: bool
    """Its digest and signature value verify against the certificate it carries."""
    certificate: x509.Certificate | None
    """The certificate that signed (the leaf of ``X509Data``)."""
    chain: tuple[x509.Certificate, ...]
    """The other certificates ``X509Data`` carries (issuers), in the order given."""
    problem: str = ""
    """Why it is not valid, in a short English line; empty when valid or absent."""
    algorithm: str = ""
    """The signature method's short name (``rsa-sha256``); SHA-1 ones are ``weak``."""

    @property
    def verdict(self) -> str:
        """``valid``, ``invalid`` or ``absent``: what ``vanthu exchange inspect`` prints."""
        if not self.present:
            return "absent"
        return "valid" if self.valid else "invalid"

    @property
    def weak(self) -> bool:
        return self.algorithm.endswith("sha1")


ABSENT = SignatureCheck(present=False, valid=False, certificate=None, chain=())


def sign(root: etree._Element, header: etree._Element, key: SigningKey) -> None:
    """Append an enveloped ``Signature`` to ``header`` covering the whole document of ``root``."""
    public = key.certificate.public_key()
    is_ec = isinstance(public, ec.EllipticCurvePublicKey)
    signature = etree.SubElement(header, f"{{{DSIG}}}Signature", nsmap={None: DSIG})
    signed_info = _element(signature, "SignedInfo")
    _element(signed_info, "CanonicalizationMethod").set("Algorithm", EXC_C14N)
    _element(signed_info, "SignatureMethod").set("Algorithm", ECDSA_SHA256 if is_ec else RSA_SHA256)
    reference = _element(signed_info, "Reference")
    reference.set("URI", "")
    transforms = _element(reference, "Transforms")
    _element(transforms, "Transform").set("Algorithm", ENVELOPED)
    _element(transforms, "Transform").set("Algorithm", EXC_C14N)
    _element(reference, "DigestMethod").set("Algorithm", SHA256)
    digest_value = _element(reference, "DigestValue")
    value = _element(signature, "SignatureValue")
    x509_data = _element(_element(signature, "KeyInfo"), "X509Data")
    for certificate in (key.certificate, *key.chain):
        der = certificate.public_bytes(Encoding.DER)
        _element(x509_data, "X509Certificate").text = base64.b64encode(der).decode()

    header.remove(signature)  # the enveloped-signature transform: digest without it
    digest_value.text = base64.b64encode(_sha256(_c14n(root))).decode()
    header.append(signature)
    raw = key.sign_digest(_sha256(_c14n(signed_info)))
    if isinstance(public, ec.EllipticCurvePublicKey):  # XML-DSig wants r || s, the key gives DER
        r, s = decode_dss_signature(raw)
        size = (public.curve.key_size + 7) // 8
        raw = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    value.text = base64.b64encode(raw).decode()


def verify(root: etree._Element, data: bytes) -> SignatureCheck:
    """Check the first XML signature in the message ``data`` (already parsed as ``root``)."""
    signature = root.find(f".//{{{DSIG}}}Signature")
    if signature is None:
        return ABSENT
    method = signature.find(f"{{{DSIG}}}SignedInfo/{{{DSIG}}}SignatureMethod")
    algorithm = _short(method.get("Algorithm", "") if method is not None else "")
    certificates = _certificates(signature)
    if not certificates:
        return SignatureCheck(
            True, False, None, (), "no X509Certificate in the signature", algorithm
        )
    leaf = _leaf(certificates)
    chain = tuple(c for c in certificates if c is not leaf)
    partial = _partial(signature)
    if partial:
        return SignatureCheck(True, False, leaf, chain, partial, algorithm)
    try:
        XMLVerifier().verify(data, x509_cert=leaf, parser=parser(), expect_config=_ACCEPTED)
    except InvalidDigest:
        problem = "the digest does not match: the message changed after it was signed"
        return SignatureCheck(True, False, leaf, chain, problem, algorithm)
    except (InvalidSignature, InvalidInput, ValueError) as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return SignatureCheck(True, False, leaf, chain, problem[:300], algorithm)
    return SignatureCheck(True, True, leaf, chain, "", algorithm)


def _partial(signature: etree._Element) -> str:
    """Why the signature would not cover the whole message (every field we read), or ''.

    A reference to one element (``URI="#id"``) or a transform that filters (XPath) leaves the
    rest of the message open to change without breaking the signature (signature wrapping)."""
    references = signature.findall(f"{{{DSIG}}}SignedInfo/{{{DSIG}}}Reference")
    if len(references) != 1 or references[0].get("URI") != "":
        return "the signature does not cover the whole message (one Reference with URI='')"
    for transform in references[0].iterfind(f".//{{{DSIG}}}Transform"):
        if transform.get("Algorithm") not in _WHOLE:
            return f"the transform {transform.get('Algorithm')} is not accepted"
    return ""


def signature_value_digest(root: etree._Element) -> str | None:
    """sha256 of the signature value, stable however the message is re-serialised."""
    value = root.find(f".//{{{DSIG}}}Signature/{{{DSIG}}}SignatureValue")
    if value is None or not (value.text or "").strip():
        return None
    return hashlib.sha256("".join((value.text or "").split()).encode()).hexdigest()


def _element(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{DSIG}}}{name}")


def _c14n(node: etree._Element) -> bytes:
    return etree.tostring(node, method="c14n", exclusive=True, with_comments=False)


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _short(uri: str) -> str:
    return uri.rsplit("#", 1)[-1] if uri else ""


def _certificates(signature: etree._Element) -> list[x509.Certificate]:
    found: list[x509.Certificate] = []
    for node in signature.iterfind(f".//{{{DSIG}}}X509Certificate"):
        try:
            der = base64.b64decode("".join((node.text or "").split()), validate=True)
            found.append(x509.load_der_x509_certificate(der))
        except ValueError:
            continue
    return found


def _leaf(certificates: list[x509.Certificate]) -> x509.Certificate:
    """The certificate that issued none of the others (the signer); the first when unclear."""
    issuers = {c.issuer for c in certificates}
    leaves = [c for c in certificates if c.subject not in issuers or c.subject == c.issuer]
    leaves = [c for c in leaves if c.subject != c.issuer] or certificates
    return leaves[0]
