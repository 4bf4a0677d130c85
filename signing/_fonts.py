"""Fonts for text written into PDFs (number and date) and drawn into images (seal, signature).

pyHanko 0.38 writes glyph widths in raw font units, right only for fonts with 1000 units per
em; Liberation and DejaVu use 2048, so the font is rescaled once. It is also subset to Latin and
Vietnamese, which makes each embedding a few times cheaper. The result is kept in memory for the
life of the process (~0.2 s to make).
"""

from __future__ import annotations

import functools
import hashlib
import io
import unicodedata
import zlib
from dataclasses import dataclass
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.ttLib.scaleUpem import scale_upem
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.font.api import FontEngine, FontEngineFactory
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.pdf_utils.xref import ObjectStream

from signing._errors import SigningError
from vanthu.errors import Kind

LIBERATION = Path("/usr/share/fonts/truetype/liberation2")
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
SERIF_REGULAR = LIBERATION / "LiberationSerif-Regular.ttf"
"""Times New Roman's metrics, which Decree 30 prescribes, with every Vietnamese letter."""
SERIF_ITALIC = LIBERATION / "LiberationSerif-Italic.ttf"
SANS_BOLD = DEJAVU / "DejaVuSans-Bold.ttf"
_PACKAGES = {LIBERATION: "fonts-liberation2", DEJAVU: "fonts-dejavu-core"}

_VIETNAMESE_RANGES = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x024F),  # Latin-1, Latin Extended-A and -B: â ê ô ơ ư đ
    (0x0300, 0x036F),  # combining marks
    (0x1EA0, 0x1EFF),  # Latin Extended Additional: ạ ả ấ … ỹ
    (0x2000, 0x206F),  # dashes, quotes, ellipsis
)
UNITS_PER_EM = 1000


def font_path(path: Path) -> Path:
    """The font file, or a SigningError naming the Debian package that provides it."""
    if not path.is_file():
        package = _PACKAGES.get(path.parent)
        raise SigningError(
            f"không có phông chữ: cài gói {package or 'chứa phông chữ này'}",
            f"the font is missing: install the package {package or 'that provides it'}",
            code="signing.font.missing",
            kind=Kind.CONFIG,
            file=str(path),
            package=package,
        )
    return path


@functools.lru_cache(maxsize=4)
def vietnamese_subset(path: Path) -> bytes:
    """The font reduced to Latin + Vietnamese and rescaled to 1000 units per em."""
    font = TTFont(font_path(path))
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.drop_tables += ["FFTM"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(
        unicodes=[code for low, high in _VIETNAMESE_RANGES for code in range(low, high + 1)]
    )
    subsetter.subset(font)
    scale_upem(font, UNITS_PER_EM)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@dataclass(frozen=True)
class MemoryFontFactory(FontEngineFactory):
    """pyHanko font factory reading the prepared font from memory instead of a file path."""

    font: bytes
    """TrueType font program with 1000 units per em."""
    font_size: int = 13
    """Overridden by the text box style's own size."""

    def create_font_engine(
        self, writer: BasePdfFileWriter, obj_stream: ObjectStream | None = None
    ) -> FontEngine:
        if obj_stream is None and writer.stream_xrefs:
            obj_stream = writer.prepare_object_stream()
        return GlyphAccumulator(
            writer=writer,
            font_handle=io.BytesIO(self.font),
            font_size=self.font_size,
            obj_stream=obj_stream,
        )


@dataclass(frozen=True)
class VerticalMetrics:
    """How far the font reaches above and below the baseline, in ems."""

    ascent: float
    descent: float
    """Positive: distance below the baseline."""


@functools.lru_cache(maxsize=4)
def vertical_metrics(path: Path) -> VerticalMetrics:
    hhea = TTFont(io.BytesIO(vietnamese_subset(path)))["hhea"]
    return VerticalMetrics(hhea.ascent / UNITS_PER_EM, -hhea.descent / UNITS_PER_EM)


def font_factory(path: Path, size: int) -> MemoryFontFactory:
    return MemoryFontFactory(vietnamese_subset(path), size)


ALWAYS_EMBEDDED = "0123456789 +-:/.,()T"
"""Embedded with every text, so numbers and times never change which glyphs a font needs."""


@dataclass(frozen=True)
class PreparedFont:
    """A font subset to a set of characters, with every PDF object it needs made in advance.

    Subsetting with fontTools costs 20-40 ms; done once per font and character set, it leaves
    each document a few small objects to write, the font program already compressed.
    """

    name: str
    """PostScript name with its subset tag, e.g. 'KDBFQA+LiberationSerif'."""
    program: bytes
    """Flate-compressed TrueType program."""
    program_length: int
    glyphs: dict[str, int]
    """Character to glyph id."""
    widths: dict[int, int]
    """Glyph id to advance width, in thousandths of an em."""
    to_unicode: bytes
    """Flate-compressed ToUnicode CMap, so copied or extracted text comes out as written."""
    bbox: tuple[int, int, int, int]
    ascent: int
    descent: int
    cap_height: int
    italic_angle: float

    def width(self, text: str, size: float) -> float:
        """Advance of ``text`` at ``size`` points."""
        self._check(text)
        return sum(self.widths[self.glyphs[ch]] for ch in text) * size / UNITS_PER_EM

    def encode(self, text: str) -> bytes:
        """``text`` as a PDF hex string of two-byte glyph ids (Identity-H)."""
        self._check(text)
        return b"<" + b"".join(b"%04X" % self.glyphs[ch] for ch in text) + b">"

    def _check(self, text: str) -> None:
        missing = sorted({ch for ch in text if ch not in self.glyphs})
        if missing:
            raise SigningError(
                f"phông chữ {self.name} thiếu ký tự {''.join(missing)!r}",
                f"the font {self.name} lacks the characters {''.join(missing)!r}",
                code="signing.font.missing_characters",
                kind=Kind.INVALID,
                characters="".join(missing),
            )

    def embed(self, writer: BasePdfFileWriter) -> generic.IndirectObject:
        """Add the font's objects to ``writer``; returns the Type0 font dictionary."""
        flate = pdf_name("/FlateDecode")
        program = writer.add_object(
            generic.StreamObject(
                {pdf_name("/Filter"): flate, pdf_name("/Length1"): _num(self.program_length)},
                encoded_data=self.program,
            )
        )
        descriptor = writer.add_object(
            generic.DictionaryObject(
                {
                    pdf_name("/Type"): pdf_name("/FontDescriptor"),
                    pdf_name("/FontName"): pdf_name("/" + self.name),
                    pdf_name("/Flags"): _num(
                        _SERIF | _SYMBOLIC | (_ITALIC if self.italic_angle else 0)
                    ),
                    pdf_name("/FontBBox"): generic.ArrayObject(_num(v) for v in self.bbox),
                    pdf_name("/ItalicAngle"): generic.FloatObject(self.italic_angle),
                    pdf_name("/Ascent"): _num(self.ascent),
                    pdf_name("/Descent"): _num(self.descent),
                    pdf_name("/CapHeight"): _num(self.cap_height),
                    pdf_name("/StemV"): _num(80),
                    pdf_name("/FontFile2"): program,
                }
            )
        )
        widths = generic.ArrayObject()
        for gid in sorted(self.widths):
            widths.append(_num(gid))
            widths.append(generic.ArrayObject([_num(self.widths[gid])]))
        cid_font = writer.add_object(
            generic.DictionaryObject(
                {
                    pdf_name("/Type"): pdf_name("/Font"),
                    pdf_name("/Subtype"): pdf_name("/CIDFontType2"),
                    pdf_name("/BaseFont"): pdf_name("/" + self.name),
                    pdf_name("/CIDSystemInfo"): generic.DictionaryObject(
                        {
                            pdf_name("/Registry"): generic.pdf_string("Adobe"),
                            pdf_name("/Ordering"): generic.pdf_string("Identity"),
                            pdf_name("/Supplement"): _num(0),
                        }
                    ),
                    pdf_name("/FontDescriptor"): descriptor,
                    pdf_name("/W"): widths,
                    pdf_name("/CIDToGIDMap"): pdf_name("/Identity"),
                }
            )
        )
        to_unicode = writer.add_object(
            generic.StreamObject({pdf_name("/Filter"): flate}, encoded_data=self.to_unicode)
        )
        return writer.add_object(
            generic.DictionaryObject(
                {
                    pdf_name("/Type"): pdf_name("/Font"),
                    pdf_name("/Subtype"): pdf_name("/Type0"),
                    pdf_name("/BaseFont"): pdf_name("/" + self.name),
                    pdf_name("/Encoding"): pdf_name("/Identity-H"),
                    pdf_name("/DescendantFonts"): generic.ArrayObject([cid_font]),
                    pdf_name("/ToUnicode"): to_unicode,
                }
            )
        )


_SERIF, _SYMBOLIC, _ITALIC = 2, 4, 64


def _num(value: int) -> generic.NumberObject:
    return generic.NumberObject(value)


def prepared_font(path: Path, text: str) -> PreparedFont:
    """The font made ready for ``text`` (plus digits and the punctuation of times and numbers)."""
    chars = "".join(sorted(set(unicodedata.normalize("NFC", text)) | set(ALWAYS_EMBEDDED)))
    return _prepare(path, chars)


@functools.lru_cache(maxsize=64)
def _prepare(path: Path, chars: str) -> PreparedFont:
    source = TTFont(io.BytesIO(vietnamese_subset(path)))
    cmap = source.getBestCmap()
    missing = [ch for ch in chars if ord(ch) not in cmap]
    if missing:
        raise SigningError(
            f"phông chữ {path.name} không có ký tự {''.join(missing)!r}: "
            "chỉ dùng chữ Latinh và tiếng Việt",
            f"the font {path.name} has no characters {''.join(missing)!r}: use Latin and "
            "Vietnamese letters only",
            code="signing.font.missing_characters",
            kind=Kind.INVALID,
            characters="".join(missing),
        )
    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "FFTM", "gasp", "name"]
    options.hinting = False
    options.notdef_outline = True
    options.name_IDs = []
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(ch) for ch in chars])
    subsetter.subset(source)
    out = io.BytesIO()
    source.save(out)
    program = out.getvalue()
    font = TTFont(io.BytesIO(program))
    cmap = font.getBestCmap()
    glyphs = {ch: font.getGlyphID(cmap[ord(ch)]) for ch in chars}
    hmtx = font["hmtx"]
    widths = {gid: hmtx[font.getGlyphName(gid)][0] for gid in sorted(set(glyphs.values()))}
    head, hhea = font["head"], font["hhea"]
    tag = "".join(
        chr(ord("A") + b % 26) for b in hashlib.sha256((str(path) + chars).encode()).digest()[:6]
    )
    postscript = TTFont(font_path(path))["name"].getDebugName(6) or path.stem
    return PreparedFont(
        name=f"{tag}+{postscript}",
        program=zlib.compress(program, 9),
        program_length=len(program),
        glyphs=glyphs,
        widths=widths,
        to_unicode=zlib.compress(_to_unicode_cmap(glyphs), 9),
        bbox=(head.xMin, head.yMin, head.xMax, head.yMax),
        ascent=hhea.ascent,
        descent=hhea.descent,
        cap_height=getattr(font["OS/2"], "sCapHeight", hhea.ascent),
        italic_angle=float(font["post"].italicAngle),
    )


def _to_unicode_cmap(glyphs: dict[str, int]) -> bytes:
    pairs = sorted((gid, ch) for ch, gid in glyphs.items())
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        "<0000> <FFFF>",
        "endcodespacerange",
    ]
    for start in range(0, len(pairs), 100):
        chunk = pairs[start : start + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        lines += [f"<{gid:04X}> <{ord(ch):04X}>" for gid, ch in chunk]
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")
