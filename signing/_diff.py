"""What changed after a signature: pyHanko's difference analysis, plus comments under DocMDP 3.

ISO 32000-1 12.8.2.2 lets a certification at P=3 permit annotations besides form filling and
signing. pyHanko's default policy knows no annotation changes at all, so a comment added to a
document certified for comments came out as "other" changes and the certification invalid.

:class:`CommentRule` accepts, at level ANNOTATIONS, exactly one kind of change: comment
annotations (sticky notes, ``/Text``, with their ``/Popup``) newly added to a page, the size of
a note icon, nothing else on the page changed, no annotation removed or altered. Annotations
that can change what a reader sees of the page (a ``/FreeText`` or ``/Square`` drawn over the
text, an overlay removed to reveal what it hid — the evil annotation and shadow attacks) stay
"other", so they break a P=3 certification as they break a P=2 one: what ISO allows in
general is narrowed to what cannot forge the signed page.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import HistoricalResolver
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    ModificationLevel,
    QualifiedWhitelistRule,
    ReferenceUpdate,
    StandardDiffPolicy,
    SuspiciousModification,
)
from pyhanko.sign.diff_analysis.commons import compare_dicts

NOTE_ICON_MAX = 32.0
"""Largest side (points) of a comment's note icon: Acrobat's notes are 20-24 pt."""
_COMMENT = "/Text"
_POPUP = "/Popup"


class CommentRule(QualifiedWhitelistRule):
    """New comment annotations (sticky notes) on pages, nothing else: level ANNOTATIONS."""

    def apply_qualified(
        self, old: HistoricalResolver, new: HistoricalResolver
    ) -> Iterable[tuple[ModificationLevel, ReferenceUpdate]]:
        try:
            approved = list(_pages(old, new, old.root["/Pages"], new.root["/Pages"], depth=0))
        except (SuspiciousModification, misc.PdfError, KeyError, TypeError, ValueError):
            return  # anything unexpected: nothing approved here, the policy calls it 'other'
        for ref in approved:
            yield ModificationLevel.ANNOTATIONS, ReferenceUpdate(ref)


def _pages(
    old: HistoricalResolver,
    new: HistoricalResolver,
    old_node: generic.PdfObject,
    new_node: generic.PdfObject,
    depth: int,
) -> Iterator[generic.Reference]:
    if depth > 32:
        raise SuspiciousModification("page tree too deep")
    if not isinstance(old_node, generic.DictionaryObject):
        raise SuspiciousModification("a page tree node is not a dictionary")
    if not isinstance(new_node, generic.DictionaryObject):
        raise SuspiciousModification("a page tree node is not a dictionary")
    old_kids = [k.reference for k in old_node["/Kids"]]
    new_kids = [k.reference for k in new_node["/Kids"]]
    if old_kids != new_kids:
        return
    for ref in new_kids:
        old_kid, new_kid = old(ref), new(ref)
        if str(old_kid.get("/Type")) == "/Pages":
            yield from _pages(old, new, old_kid, new_kid, depth + 1)
            continue
        yield from _page(old, new, ref, old_kid, new_kid)


def _page(
    old: HistoricalResolver,
    new: HistoricalResolver,
    ref: generic.Reference,
    old_page: generic.DictionaryObject,
    new_page: generic.DictionaryObject,
) -> Iterator[generic.Reference]:
    before = _annotation_refs(old_page)
    after = _annotation_refs(new_page)
    if before == after:
        return
    if after[: len(before)] != before:
        return  # an annotation removed, replaced or moved: not a comment added
    added = after[len(before) :]
    comments = {r for r in added if _is_comment(r.get_object())}
    popups = {r for r in added if _is_popup_of(r.get_object(), comments)}
    if set(added) != comments | popups:
        return
    if any(not old.is_ref_unassignable(r) for r in added):
        return  # an object of the signed revision redefined: that is not adding a comment
    compare_dicts(old_page, new_page, frozenset({"/Annots"}))
    yield ref
    annots = new_page.raw_get("/Annots")
    if isinstance(annots, generic.IndirectObject):
        yield annots.reference
    for annot in added:
        yield annot
        found = annot.get_object()
        if isinstance(found, generic.DictionaryObject) and "/AP" in found:
            appearance = found.raw_get("/AP")
            yield from new.collect_dependencies(appearance, since_revision=old.revision + 1)


def _annotation_refs(page: generic.DictionaryObject) -> list[generic.Reference]:
    if "/Annots" not in page:
        return []
    annots = page["/Annots"]
    if not isinstance(annots, generic.ArrayObject):
        raise SuspiciousModification("/Annots is not an array")
    refs = []
    for item in annots:
        if not isinstance(item, generic.IndirectObject):
            raise SuspiciousModification("a direct annotation")
        refs.append(item.reference)
    return refs


def _is_comment(annot: generic.PdfObject) -> bool:
    if not isinstance(annot, generic.DictionaryObject) or str(annot.get("/Subtype")) != _COMMENT:
        return False
    try:
        x1, y1, x2, y2 = (float(v) for v in annot["/Rect"])
    except (KeyError, TypeError, ValueError):
        return False
    return abs(x2 - x1) <= NOTE_ICON_MAX and abs(y2 - y1) <= NOTE_ICON_MAX


def _is_popup_of(annot: generic.PdfObject, comments: set[generic.Reference]) -> bool:
    if not isinstance(annot, generic.DictionaryObject) or str(annot.get("/Subtype")) != _POPUP:
        return False
    parent = annot.raw_get("/Parent") if "/Parent" in annot else None
    return isinstance(parent, generic.IndirectObject) and parent.reference in comments


DIFF_POLICY = StandardDiffPolicy(
    global_rules=[*DEFAULT_DIFF_POLICY.global_rules, CommentRule()],
    form_rule=DEFAULT_DIFF_POLICY.form_rule,
)
"""pyHanko's default policy with comments allowed at level ANNOTATIONS."""
