"""The agency's units (phòng, ban): looked up by code, listed and added by an administrator."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import Conflict, InvalidInput
from engine.core.models import Agency, Unit, User
from engine.core.users import NAME_LIMIT, admin_in, admin_text
from engine.core.workspace import Workspace

UNIT_CODE_PATTERN = re.compile(r"[A-Z][A-Z0-9]{0,19}")


@dataclass(frozen=True)
class UnitRow:
    code: str
    name: str
    people: int
    """Active people in it."""


def unit_coded(session: Session, code: str) -> Unit:
    """The unit ``code``; account.unit_unknown lists the known ones."""
    found = session.exec(select(Unit).where(Unit.code == code)).first()
    if found is None or found.id is None:
        known = ", ".join(session.exec(select(Unit.code).order_by(col(Unit.code))).all())
        raise InvalidInput(
            f"không có đơn vị '{code}'; các đơn vị: {known}",
            f"there is no unit '{code}'; the units: {known}",
            code="account.unit_unknown",
            unit=code,
        )
    return found


def list_units(ws: Workspace, actor: str) -> list[UnitRow]:
    """The agency's units by code, with how many active people each has; for an administrator."""
    with Session(ws.db) as session:
        admin_in(session, actor, "xem danh sách đơn vị", "list units")
        counts = dict(
            session.exec(
                select(User.unit_id, func.count())
                .where(col(User.active))
                .group_by(col(User.unit_id))
            ).all()
        )
        units = session.exec(select(Unit).order_by(col(Unit.code))).all()
    return [UnitRow(u.code, u.name, int(counts.get(u.id or 0, 0))) for u in units]


def add_unit(ws: Workspace, actor: str, code: str, name: str) -> UnitRow:
    """A new unit of the agency (``PC``, ``Phòng Pháp chế``), by an administrator; audited."""
    code = code.strip().upper()
    if not UNIT_CODE_PATTERN.fullmatch(code):
        raise InvalidInput(
            f"mã đơn vị '{code[:NAME_LIMIT]}' không hợp lệ: 1–20 chữ in hoa không dấu và chữ số, "
            "bắt đầu bằng chữ",
            f"the unit code '{code[:NAME_LIMIT]}' is not valid: 1–20 upper-case ASCII letters "
            "and digits, starting with a letter",
            code="account.unit_code_invalid",
        )
    name = admin_text(name, "tên đơn vị", "the unit's name", 200)
    with transaction(ws.db) as session:
        admin_in(session, actor, "thêm đơn vị", "add units")
        if session.exec(select(Unit).where(Unit.code == code)).first() is not None:
            raise Conflict(
                f"đã có đơn vị '{code}'",
                f"there is a unit '{code}' already",
                code="account.unit_exists",
                unit=code,
            )
        agency = session.exec(select(Agency)).first()
        if agency is None or agency.id is None:
            raise Conflict(
                "chưa có cơ quan (chạy `vanthu setup-demo` hoặc tạo cơ quan trước)",
                "there is no agency yet (run `vanthu setup-demo` or create the agency first)",
                code="account.no_agency",
            )
        session.add(Unit(agency_id=agency.id, code=code, name=name))
        audit.append(session, actor=actor, event="unit_added", detail={"unit": code, "name": name})
    return UnitRow(code, name, 0)
