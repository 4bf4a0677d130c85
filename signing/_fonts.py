"""Fonts for text written into PDFs (number and date) and drawn into images (seal, signature).

pyHanko 0.38 writes glyph widths in raw font units, right only for fonts with 1000 units per
em; Liberation and DejaVu use 2048, so the font is rescaled once. It is also subset to Latin and
Vietnamese, which makes each embedding a few times cheaper. The result is kept in memory for the
life of the process (~0.2 s to make).
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.ttLib.scaleUpem import scale_upem
from pyhanko.pdf_utils.font.api import FontEngine, FontEngineFactory
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.pdf_utils.xref import ObjectStream

from signing._errors import SigningError

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
        package = _PACKAGES.get(path.parent, "chứa phông chữ này")
        raise SigningError(f"không có phông chữ {path}: cài gói {package}")
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
