"""Saved searches of the archive (Decree 30 Appendix VI, 9): a person saves the words and
filters they typed under a name and runs them again later.

A saved search is its owner's; they may share it with their unit (everyone of the unit sees it
in their list and may run it), rename it, unshare or delete it; nobody else may. What is saved
is the question, never the answers: running it asks the archive again as the person running it,
so restricted records (engine.archive.records.may_see_restricted) never reach someone who may
not see them, whoever saved the search. Every change is audited.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from engine.archive import retention
from engine.archive.search import SearchQuery, SearchResults, search
from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import Conflict, InvalidInput, NotAllowed, NotFound
from engine.core.models import SavedSearch, User
from engine.core.users import user_named
from engine.core.workspace import Workspace
from vanthu import clock

NAME_MAX = 100
SAVED, RENAMED, SHARED, DELETED = (
    "search_saved",
    "search_renamed",
    "search_shared",
    "search_deleted",
)
"""Audit events."""
_KEPT = tuple(f.name for f in dataclasses.fields(SearchQuery) if f.name not in ("limit", "offset"))
"""The parts of a query a saved search keeps (not the page)."""
_DAYS = ("date_from", "date_to")


@dataclass(frozen=True)
class SavedSearchView:
    """A saved search as its owner or a colleague of the unit sees it."""

    id: int
    name: str
    owner: str
    """The owner's username."""
    owner_name: str
    shared: bool
    """Shared with the owner's unit."""
    mine: bool
    """Whether the person asking owns it (only the owner changes it)."""
    query: SearchQuery
    created_at: datetime
    updated_at: datetime

    def describe(self) -> str:
        return describe(self.query)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "owner": self.owner,
            "owner_name": self.owner_name,
            "shared": self.shared,
            "mine": self.mine,
            "query": query_to_json(self.query),
            "description": self.describe(),
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


def query_to_json(query: SearchQuery) -> dict[str, Any]:
    """The words and filters of ``query`` (dates as ISO days), without the page; unset left out."""
    data = {name: getattr(query, name) for name in _KEPT}
    for name in _DAYS:
        if data[name] is not None:
            data[name] = data[name].isoformat()
    return {k: v for k, v in data.items() if v not in (None, "")}


def query_from_json(data: dict[str, Any]) -> SearchQuery:
    values = {k: v for k, v in data.items() if k in _KEPT}
    for name in _DAYS:
        if values.get(name):
            values[name] = date.fromisoformat(values[name])
    return SearchQuery(**values)


def describe(query: SearchQuery) -> str:
    """The question in words: «bổ nhiệm»; loại Quyết định; từ 01/01/2026 …"""
    parts = [f"«{query.text.strip()}»"] if query.text.strip() else []
    labelled = (
        ("loại", query.doc_type),
        ("số", query.number),
        ("ký hiệu", query.symbol),
        ("cơ quan", query.agency_code),
        ("người ký", query.signer),
        ("hồ sơ", query.file_code),
        ("đơn vị", query.unit_code),
    )
    parts += [f"{label} {value}" for label, value in labelled if value not in (None, "")]
    if query.date_from:
        parts.append(f"từ {query.date_from:%d/%m/%Y}")
    if query.date_to:
        parts.append(f"đến {query.date_to:%d/%m/%Y}")
    if query.permanent or query.retention_years is not None:
        parts.append(f"bảo quản {retention.label(query.retention_years)}")
    if query.direction:
        parts.append("văn bản đi" if query.direction == "outgoing" else "văn bản đến")
    return "; ".join(parts) or "mọi bản lưu"


def _checked_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > NAME_MAX:
        raise InvalidInput(
            f"tên tìm kiếm đã lưu cần từ 1 đến {NAME_MAX} ký tự",
            f"the saved search's name needs 1 to {NAME_MAX} characters",
            code="saved_search.name_invalid",
            field="name",
        )
    return cleaned


def _checked_query(ws: Workspace, query: SearchQuery, username: str) -> SearchQuery:
    """The query without its page, refused when it asks nothing or cannot run (the search
    itself says why: an unknown type, dates the wrong way round …)."""
    kept = query_from_json(query_to_json(query))
    if kept == SearchQuery():
        raise InvalidInput(
            "không lưu được tìm kiếm không có từ khóa hay bộ lọc nào",
            "a search with no words and no filter cannot be saved",
            code="saved_search.empty",
        )
    search(ws, dataclasses.replace(kept, limit=1), username=username)
    return kept


def save_search(
    ws: Workspace, username: str, name: str, query: SearchQuery, *, shared: bool = False
) -> SavedSearchView:
    """Save ``query`` (its words and filters, not its page) under ``name`` for ``username``."""
    name = _checked_name(name)
    kept = _checked_query(ws, query, username)
    with transaction(ws.db) as session:
        user = user_named(session, username)
        taken = session.exec(
            select(SavedSearch).where(SavedSearch.owner_id == user.id, SavedSearch.name == name)
        ).first()
        if taken is not None:
            raise Conflict(
                f"bạn đã có tìm kiếm lưu tên '{name}'",
                f"you already have a saved search named '{name}'",
                code="saved_search.name_taken",
                name=name,
            )
        assert user.id is not None
        saved = SavedSearch(
            owner_id=user.id,
            unit_id=user.unit_id,
            name=name,
            query=json.dumps(query_to_json(kept), ensure_ascii=False, sort_keys=True),
            shared=shared,
        )
        session.add(saved)
        session.flush()
        audit.append(
            session,
            actor=username,
            event=SAVED,
            detail={"id": saved.id, "name": name, "shared": shared, "query": query_to_json(kept)},
        )
        return _view(saved, user, user)


def list_searches(ws: Workspace, username: str) -> list[SavedSearchView]:
    """``username``'s own saved searches, then those their unit's colleagues share, by name."""
    with Session(ws.db) as session:
        user = user_named(session, username)
        found = session.exec(
            select(SavedSearch, User)
            .join(User, col(User.id) == SavedSearch.owner_id)
            .where(_visible(user))
            .order_by(col(SavedSearch.name), col(SavedSearch.id))
        ).all()
        views = [_view(saved, owner, user) for saved, owner in found]
    return sorted(views, key=lambda v: not v.mine)


def run_saved(
    ws: Workspace, username: str, ref: str, *, limit: int = 20, offset: int = 0
) -> tuple[SavedSearchView, SearchResults]:
    """Run the saved search ``ref`` (its name or #id) as ``username``: what they may see."""
    with Session(ws.db) as session:
        user = user_named(session, username)
        view = _view(*_find(session, user, ref), user)
    page = dataclasses.replace(view.query, limit=limit, offset=offset)
    return view, search(ws, page, username=username)


def saved_search(ws: Workspace, username: str, ref: str) -> SavedSearchView:
    """The saved search ``ref`` (its name or #id), if ``username`` may see it."""
    with Session(ws.db) as session:
        user = user_named(session, username)
        return _view(*_find(session, user, ref), user)


def rename_search(ws: Workspace, username: str, ref: str, new_name: str) -> SavedSearchView:
    new_name = _checked_name(new_name)
    with transaction(ws.db) as session:
        user = user_named(session, username)
        saved = _owned(session, user, ref)
        clash = session.exec(
            select(SavedSearch).where(
                SavedSearch.owner_id == user.id,
                SavedSearch.name == new_name,
                SavedSearch.id != saved.id,
            )
        ).first()
        if clash is not None:
            raise Conflict(
                f"bạn đã có tìm kiếm lưu tên '{new_name}'",
                f"you already have a saved search named '{new_name}'",
                code="saved_search.name_taken",
                name=new_name,
            )
        old = saved.name
        saved.name, saved.updated_at = new_name, clock.now()
        session.add(saved)
        audit.append(
            session,
            actor=username,
            event=RENAMED,
            detail={"id": saved.id, "from": old, "to": new_name},
        )
        return _view(saved, user, user)


def share_search(ws: Workspace, username: str, ref: str, shared: bool) -> SavedSearchView:
    """Share the search with the owner's unit (as it is now), or make it private again."""
    with transaction(ws.db) as session:
        user = user_named(session, username)
        saved = _owned(session, user, ref)
        saved.shared, saved.unit_id, saved.updated_at = shared, user.unit_id, clock.now()
        session.add(saved)
        audit.append(
            session,
            actor=username,
            event=SHARED,
            detail={"id": saved.id, "name": saved.name, "shared": shared},
        )
        return _view(saved, user, user)


def delete_search(ws: Workspace, username: str, ref: str) -> str:
    """Delete the owner's saved search; its name is returned."""
    with transaction(ws.db) as session:
        user = user_named(session, username)
        saved = _owned(session, user, ref)
        name = saved.name
        audit.append(
            session,
            actor=username,
            event=DELETED,
            detail={"id": saved.id, "name": name, "query": json.loads(saved.query)},
        )
        session.delete(saved)
        return name


def _visible(user: User) -> Any:
    return or_(
        col(SavedSearch.owner_id) == user.id,
        (col(SavedSearch.shared).is_(True)) & (col(SavedSearch.unit_id) == user.unit_id),
    )


def _find(session: Session, user: User, ref: str) -> tuple[SavedSearch, User]:
    """The saved search named ``ref`` (the user's own first) or numbered ``#id``, among those
    ``user`` may see; a name two colleagues share is asked by its number."""
    wanted = " ".join(ref.split())
    statement = (
        select(SavedSearch, User)
        .join(User, col(User.id) == SavedSearch.owner_id)
        .where(_visible(user))
    )
    number = wanted.removeprefix("#")
    if number.isdigit():
        by_id = session.exec(statement.where(SavedSearch.id == int(number))).first()
        if by_id is not None:
            return by_id[0], by_id[1]
    found = session.exec(statement.where(SavedSearch.name == wanted)).all()
    own = [(s, o) for s, o in found if s.owner_id == user.id]
    if own:
        return own[0]
    if len(found) == 1:
        return found[0][0], found[0][1]
    if len(found) > 1:
        choices = ", ".join(f"#{s.id} ({o.username})" for s, o in found)
        raise InvalidInput(
            f"có {len(found)} tìm kiếm dùng chung tên '{wanted}': chọn theo số ({choices})",
            f"{len(found)} shared searches are named '{wanted}': choose one by number ({choices})",
            code="saved_search.ambiguous",
            name=wanted,
        )
    raise NotFound(
        f"không có tìm kiếm đã lưu '{wanted}' (của bạn hoặc đơn vị chia sẻ)",
        f"no saved search '{wanted}' (yours or shared with your unit)",
        code="saved_search.not_found",
        name=wanted,
    )


def _owned(session: Session, user: User, ref: str) -> SavedSearch:
    saved, owner = _find(session, user, ref)
    if owner.id != user.id:
        raise NotAllowed(
            f"tìm kiếm '{saved.name}' là của {owner.full_name} ({owner.username}): "
            "chỉ người lưu mới đổi tên, chia sẻ hay xóa được",
            f"the search '{saved.name}' belongs to {owner.username}: only its owner may rename,"
            " share or delete it",
            code="saved_search.not_owner",
            name=saved.name,
            owner=owner.username,
        )
    return saved


def _view(saved: SavedSearch, owner: User, asking: User) -> SavedSearchView:
    assert saved.id is not None
    return SavedSearchView(
        id=saved.id,
        name=saved.name,
        owner=owner.username,
        owner_name=owner.full_name,
        shared=saved.shared,
        mine=owner.id == asking.id,
        query=query_from_json(json.loads(saved.query)),
        created_at=saved.created_at,
        updated_at=saved.updated_at,
    )
