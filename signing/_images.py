"""Images for the visible signatures: the leader's handwritten-looking signature, the agency seal.

Both are PNGs with a transparent background, as Decree 30 Appendix I asks: blue for the signer,
red and real size for the seal. The demo draws them; an agency supplies its own scans in
production.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import random
import unicodedata
import zlib
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter

from signing._errors import SigningError
from signing._fonts import SANS_BOLD, SERIF_ITALIC, font_path
from signing._layout import SEAL_DIAMETER_MM
from vanthu.errors import Kind

INK_BLUE = (18, 44, 168, 255)
SEAL_RED = (214, 24, 32, 255)
SEAL_DPI = 300
_SUPERSAMPLE = 3
_SIGNATURE_SIZE = (600, 240)
POINTS_PER_INCH = 72
IMAGE_NAMES_EN = {"chữ ký": "signature", "con dấu": "seal"}
"""The images' names in English messages."""


def draw_signature_image(full_name: str) -> bytes:
    """A blue signature drawn from the person's given name, the same every time for a name."""
    name = unicodedata.normalize("NFC", full_name.strip())
    if not name:
        raise SigningError(
            "cần họ tên để vẽ chữ ký",
            "a full name is needed to draw the signature",
            code="signing.demo.name_missing",
            kind=Kind.INVALID,
        )
    rng = random.Random(hashlib.sha256(name.encode()).digest())
    s = _SUPERSAMPLE
    width, height = _SIGNATURE_SIZE[0] * s, _SIGNATURE_SIZE[1] * s
    canvas = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    given = name.split()[-1]
    text_right = _draw_name(canvas, given, rng)
    _draw_flourish(canvas, text_right, rng)
    small = canvas.resize(_SIGNATURE_SIZE, Image.Resampling.LANCZOS)
    return _png(_trim(_one_colour(small, INK_BLUE), margin=8))


def _draw_name(canvas: Image.Image, text: str, rng: random.Random) -> float:
    """Slanted italic letters; returns the x where the writing ends."""
    s = _SUPERSAMPLE
    font = ImageFont.truetype(str(font_path(SERIF_ITALIC)), 120 * s)
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    x, y = 70 * s, 20 * s
    draw.text((x, y), text, font=font, fill=INK_BLUE, stroke_width=s, stroke_fill=INK_BLUE)
    box = draw.textbbox((x, y), text, font=font)
    shear = 0.25 + rng.uniform(0, 0.1)
    layer = layer.transform(
        layer.size,
        Image.Transform.AFFINE,
        (1, shear, -shear * canvas.height * 0.6, 0, 1, 0),
        resample=Image.Resampling.BICUBIC,
    )
    canvas.alpha_composite(layer)
    return min(box[2], canvas.width - 60 * s)


def _draw_flourish(canvas: Image.Image, text_right: float, rng: random.Random) -> None:
    """One pen stroke: a swash under the name that curls up into a loop after it."""
    w, h = canvas.size
    right = min(text_right, w * 0.72)
    jitter = [rng.uniform(-0.03, 0.03) for _ in range(8)]
    through = [
        (w * (0.06 + jitter[0]), h * (0.78 + jitter[1])),
        (w * 0.4, h * (0.88 + jitter[2])),
        (right + w * 0.08, h * (0.72 + jitter[3])),
        (right + w * (0.13 + jitter[4]), h * 0.36),
        (right + w * 0.06, h * (0.3 + jitter[5])),
        (right + w * 0.05, h * 0.62),
        (right + w * (0.2 + jitter[6]), h * (0.7 + jitter[7])),
    ]
    _stroke(canvas, _catmull_rom(through, 40), 1.6 * _SUPERSAMPLE, 4.6 * _SUPERSAMPLE)


def _catmull_rom(points: list[tuple[float, float]], steps: int) -> list[tuple[float, float]]:
    """A smooth curve through every point (the pen passes through them, not near them)."""
    padded = [points[0], *points, points[-1]]
    out = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1 : i + 3]
        for k in range(steps):
            t = k / steps
            x = _spline(p0[0], p1[0], p2[0], p3[0], t)
            out.append((x, _spline(p0[1], p1[1], p2[1], p3[1], t)))
    out.append(points[-1])
    return out


def _spline(a: float, b: float, c: float, d: float, t: float) -> float:
    return 0.5 * (
        2 * b + (c - a) * t + (2 * a - 5 * b + 4 * c - d) * t * t + (3 * b - a - 3 * c + d) * t**3
    )


def _stroke(
    canvas: Image.Image, points: list[tuple[float, float]], thin: float, thick: float
) -> None:
    """A pen line whose width swells in the middle and tapers at both ends, like ink."""
    draw = ImageDraw.Draw(canvas)
    n = len(points)
    for i, (x, y) in enumerate(points):
        r = thin + (thick - thin) * math.sin(math.pi * i / (n - 1))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=INK_BLUE)
        if i:
            px, py = points[i - 1]
            draw.line((px, py, x, y), fill=INK_BLUE, width=max(1, round(2 * r)))


def draw_seal_image(agency_name: str, parent_name: str | None = None) -> bytes:
    """A round red seal, 36 mm across at 300 dpi: names around the ring, a star, 'DEMO'."""
    name = unicodedata.normalize("NFC", agency_name.strip()).upper()
    if not name:
        raise SigningError(
            "cần tên cơ quan để vẽ con dấu",
            "the agency's name is needed to draw the seal",
            code="signing.demo.name_missing",
            kind=Kind.INVALID,
        )
    parent = unicodedata.normalize("NFC", parent_name.strip()).upper() if parent_name else ""
    size = round(SEAL_DIAMETER_MM / 25.4 * SEAL_DPI)
    s = _SUPERSAMPLE
    big = size * s
    canvas = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    centre = big / 2
    outer = centre - 3 * s
    draw.ellipse(_circle(centre, outer), outline=SEAL_RED, width=14 * s)
    draw.ellipse(_circle(centre, outer * 0.64), outline=SEAL_RED, width=5 * s)
    ring_text = f"{parent} ★ {name}" if parent else name
    _text_on_ring(canvas, ring_text, centre, outer * 0.82, outer * 0.15)
    _star(draw, centre, centre - outer * 0.14, outer * 0.26)
    _centred_text(draw, "DEMO", centre, centre + outer * 0.3, round(outer * 0.2))
    small = canvas.resize((size, size), Image.Resampling.LANCZOS)
    return _png(_one_colour(small, SEAL_RED), dpi=SEAL_DPI)


def _circle(centre: float, radius: float) -> tuple[float, float, float, float]:
    return (centre - radius, centre - radius, centre + radius, centre + radius)


def _text_on_ring(
    canvas: Image.Image, text: str, centre: float, radius: float, band: float
) -> None:
    """Letters upright along the ring, clockwise, centred on the top, each turned to the centre."""
    size = round(band * 1.05)
    font = ImageFont.truetype(str(font_path(SANS_BOLD)), size)
    while True:
        widths = [font.getlength(ch) for ch in text]
        spacing = size * 0.08
        total = sum(widths) + spacing * (len(text) - 1)
        if total <= 2 * math.pi * radius * 0.92 or size < 8:
            break
        size -= 1
        font = ImageFont.truetype(str(font_path(SANS_BOLD)), size)
    angle = -math.pi / 2 - (total / radius) / 2
    for ch, width in zip(text, widths, strict=True):
        mid = angle + (width / 2) / radius
        _paste_letter(canvas, ch, font, centre, radius, mid)
        angle += (width + spacing) / radius


def _paste_letter(
    canvas: Image.Image,
    ch: str,
    font: ImageFont.FreeTypeFont,
    centre: float,
    radius: float,
    angle: float,
) -> None:
    if ch.isspace():
        return
    ascent, descent = font.getmetrics()
    box = round(font.size * 2.2)
    letter = Image.new("RGBA", (box, box), (0, 0, 0, 0))
    # baseline a little below the middle, so the letter body (with its marks) sits on the ring
    ImageDraw.Draw(letter).text(
        (box / 2, box / 2 + (ascent - descent) * 0.35), ch, font=font, fill=SEAL_RED, anchor="ms"
    )
    turned = letter.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BICUBIC)
    x = centre + radius * math.cos(angle) - box / 2
    y = centre + radius * math.sin(angle) - box / 2
    canvas.alpha_composite(turned, (round(x), round(y)))


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, radius: float) -> None:
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.382
        a = -math.pi / 2 + i * math.pi / 5
        points.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    draw.polygon(points, fill=SEAL_RED)


def _centred_text(draw: ImageDraw.ImageDraw, text: str, cx: float, cy: float, size: int) -> None:
    font = ImageFont.truetype(str(font_path(SANS_BOLD)), size)
    draw.text((cx, cy), text, font=font, fill=SEAL_RED, anchor="mm")


def _one_colour(image: Image.Image, colour: tuple[int, int, int, int]) -> Image.Image:
    """Ink of one colour, shaped by the alpha channel alone.

    Resampling leaves stray colours under transparent pixels; a uniform colour plane compresses
    to almost nothing once the image is embedded in the PDF.
    """
    solid = Image.new("RGB", image.size, colour[:3])
    solid.putalpha(image.getchannel("A"))
    return solid


def _trim(image: Image.Image, margin: int) -> Image.Image:
    """Cut the empty border, so the signature fills the box it is placed in."""
    box = image.getchannel("A").getbbox()
    if box is None:
        return image
    x1, y1, x2, y2 = box
    return image.crop(
        (
            max(0, x1 - margin),
            max(0, y1 - margin),
            min(image.width, x2 + margin),
            min(image.height, y2 + margin),
        )
    )


def _png(image: Image.Image, dpi: int | None = None) -> bytes:
    out = io.BytesIO()
    if dpi is None:
        image.save(out, format="PNG", optimize=True)
    else:
        image.save(out, format="PNG", optimize=True, dpi=(dpi, dpi))
    return out.getvalue()


@dataclass(frozen=True)
class PreparedImage:
    """A PNG made ready for PDF once: colour and transparency planes already compressed."""

    width: int
    height: int
    colour: bytes
    """Flate-compressed 8-bit RGB samples."""
    alpha: bytes
    """Flate-compressed 8-bit alpha samples (the soft mask)."""
    real_size: tuple[float, float] | None
    """Width and height in points from the PNG's resolution, when it has one."""

    def embed(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        """Add the image (with its soft mask) to ``writer``."""
        mask = writer.add_object(self._stream(self.alpha, "/DeviceGray"))
        image = self._stream(self.colour, "/DeviceRGB")
        image[pdf_name("/SMask")] = mask
        return writer.add_object(image)

    def _stream(self, data: bytes, space: str) -> generic.StreamObject:
        return generic.StreamObject(
            {
                pdf_name("/Type"): pdf_name("/XObject"),
                pdf_name("/Subtype"): pdf_name("/Image"),
                pdf_name("/Width"): generic.NumberObject(self.width),
                pdf_name("/Height"): generic.NumberObject(self.height),
                pdf_name("/ColorSpace"): pdf_name(space),
                pdf_name("/BitsPerComponent"): generic.NumberObject(8),
                pdf_name("/Filter"): pdf_name("/FlateDecode"),
            },
            encoded_data=data,
        )

    def placement(self, box_width: float, box_height: float, *, real_size: bool) -> Placement:
        """Where the image goes in a box: centred; at real size (shrunk only if the box is
        smaller) or as large as fits; never distorted."""
        if real_size and self.real_size is not None:
            width, height = self.real_size
            scale = min(1.0, box_width / width, box_height / height)
        else:
            width, height = float(self.width), float(self.height)
            scale = min(box_width / width, box_height / height)
        width, height = width * scale, height * scale
        return Placement((box_width - width) / 2, (box_height - height) / 2, width, height)


@dataclass(frozen=True)
class Placement:
    x: float
    y: float
    width: float
    height: float


@functools.lru_cache(maxsize=16)
def prepared_image(png: bytes, what: str) -> PreparedImage:
    """The PNG decoded and compressed once; a SigningError naming ``what`` if it is no image."""
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
    real_size = None
    if dpi and dpi[0] > 0 and dpi[1] > 0:
        real_size = (
            image.width / dpi[0] * POINTS_PER_INCH,
            image.height / dpi[1] * POINTS_PER_INCH,
        )
    return PreparedImage(
        width=image.width,
        height=image.height,
        colour=zlib.compress(image.convert("RGB").tobytes(), 6),
        alpha=zlib.compress(image.getchannel("A").tobytes(), 6),
        real_size=real_size,
    )
