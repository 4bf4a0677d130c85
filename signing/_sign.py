"""One PAdES signature into an existing field, with an image as its whole appearance.

Written against pyHanko's signing session rather than ``sign_pdf`` for two reasons: the
signature dictionary's /M must carry Vietnam time (``sign_pdf`` takes the machine's zone), and
the space for the CMS is reserved up front (``sign_pdf`` would sign twice to measure it).
"""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime

from PIL import Image, UnidentifiedImageError
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import (
    AxisAlignment,
    BoxConstraints,
    InnerScaling,
    Margins,
    SimpleBoxLayoutRule,
)
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.stamp import BaseStampStyle, StaticStampStyle

from signing._aio import run_sync
from signing._clock import now_in_vietnam
from signing._errors import SigningError
from signing._images import IMAGE_NAMES_EN
from signing._levels import (
    BYTES_RESERVED_TIMESTAMPED,
    embed_earlier_validation,
    enforce_policy,
    level_options,
    timestamper_for,
)
from signing._signer import SigningKey
from vanthu.errors import Kind

BYTES_RESERVED = 16384
"""Hex digits kept for the CMS (8 KB); RSA-2048 with a three-certificate chain takes 3.8 KB."""
POINTS_PER_INCH = 72
DIGEST = "sha256"


def image_style(png: bytes, what: str, *, real_size: bool = False) -> StaticStampStyle:
    """An appearance made of the image only: no border, no text, centred in the field.

    ``real_size`` draws the image at the size its resolution (PNG pHYs) gives, shrinking it only
    if the field is smaller, as a seal must be; otherwise the image fills the field.
    """
    try:
        with Image.open(io.BytesIO(png)) as opened:
            dpi = opened.info.get("dpi")
            image = opened.convert("RGBA")
    except (UnidentifiedImageError, OSError) as exc:
        raise SigningError(
            f"ảnh {what} không đọc được: {exc}",
            f"the {IMAGE_NAMES_EN.get(what, what)} image cannot be read: {exc}",
            code="signing.image.unreadable",
            kind=Kind.INVALID,
            image=what,
        ) from exc
    box = None
    if real_size and dpi and dpi[0] > 0 and dpi[1] > 0:
        box = BoxConstraints(
            width=image.width / dpi[0] * POINTS_PER_INCH,
            height=image.height / dpi[1] * POINTS_PER_INCH,
        )
    scaling = InnerScaling.SHRINK_TO_FIT if box else InnerScaling.STRETCH_TO_FIT
    return StaticStampStyle(
        background=PdfImage(image, box=box),
        background_opacity=1.0,
        border_width=0,
        background_layout=SimpleBoxLayoutRule(
            x_align=AxisAlignment.ALIGN_MID,
            y_align=AxisAlignment.ALIGN_MID,
            margins=Margins.uniform(0),
            inner_content_scaling=scaling,
        ),
    )


def signature_metadata(
    field: str,
    *,
    certify: bool,
    reason: str | None = None,
    location: str | None = None,
) -> PdfSignatureMetadata:
    return PdfSignatureMetadata(
        field_name=field,
        md_algorithm=DIGEST,
        subfilter=SigSeedSubFilter.PADES,
        certify=certify,
        docmdp_permissions=MDPPerm.FILL_FORMS,
        reason=reason,
        location=location,
    )


def sign_failed(exc: Exception, key: SigningKey) -> SigningError:
    """pyHanko refused or failed to make the signature."""
    return SigningError(
        f"ký không thành công: {exc}",
        f"signing failed: {exc}",
        code="signing.sign.failed",
        certificate_serial=key.serial,
    )


def sign_into_field(
    writer: IncrementalPdfFileWriter,
    metadata: PdfSignatureMetadata,
    key: SigningKey,
    style: BaseStampStyle | None,
    *,
    when: datetime | None = None,
) -> bytes:
    """Sign everything pending in ``writer`` plus the signature, as one incremental update.

    ``when``: the signing time (Vietnam clock), when the appearance already shows it.
    """
    return run_sync(_sign(writer, metadata, key, style, when))


async def _sign(
    writer: IncrementalPdfFileWriter,
    metadata: PdfSignatureMetadata,
    key: SigningKey,
    style: BaseStampStyle | None,
    when: datetime | None = None,
) -> bytes:
    policy = enforce_policy(key, metadata.field_name)  # trust, validity, revocation, kind
    options = level_options(policy.level, policy, key)
    if options:  # B-LT, B-LTA: the earlier signatures' validation data inside too
        await embed_earlier_validation(writer, options["validation_context"])
    metadata = replace(metadata, **options)
    pdf_signer = PdfSigner(
        metadata, key.pyhanko_signer, stamp_style=style, timestamper=timestamper_for(policy)
    )
    session = pdf_signer.init_signing_session(writer, existing_fields_only=True)
    session.system_time = when or now_in_vietnam()
    validation_info = await session.perform_presign_validation(writer)
    reserved = BYTES_RESERVED if policy.level == "B-B" else BYTES_RESERVED_TIMESTAMPED
    tbs = session.prepare_tbs_document(validation_info=validation_info, bytes_reserved=reserved)
    prepared, output = tbs.digest_tbs_document(in_place=False, output=None)
    signed = await tbs.perform_signature(
        document_digest=prepared.document_digest,
        pdf_cms_signed_attrs=PdfCMSSignedAttributes(signing_time=session.system_time),
    )
    await signed.post_signature_processing(output)
    output.seek(0)
    return output.read()
