"""Setting up an agency: its units, people and registers; the demo agency's."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from engine.core import audit
from engine.core.db import transaction
from engine.core.errors import Conflict, InvalidInput
from engine.core.models import Agency, Register, Unit, User
from engine.core.workspace import Workspace


@dataclass(frozen=True)
class Person:
    """A member of staff as the agency's administrator enters them."""

    username: str
    full_name: str
    role: str
    unit: str
    title: str


DEMO_AGENCY = Agency(
    code="SNV",
    name="SỞ NỘI VỤ",
    parent_name="ỦY BAN NHÂN DÂN THÀNH PHỐ HÀ NỘI",
    place="Hà Nội",
    leader_title="Giám đốc",
)
DEMO_UNITS = {
    "BGD": "Ban Giám đốc",
    "VP": "Văn phòng Sở",
    "PC": "Phòng Pháp chế",
    "TCBC": "Phòng Tổ chức, biên chế",
}
DEMO_PEOPLE = (
    Person("giamdoc", "Nguyễn Văn An", "leader", "BGD", "Giám đốc"),
    Person("phogiamdoc", "Phạm Minh Đức", "leader", "BGD", "Phó Giám đốc"),
    Person("truongphong", "Lê Thị Cúc", "head", "TCBC", "Trưởng phòng"),
    Person("chuyenvien", "Trần Thị Bình", "specialist", "TCBC", "Chuyên viên"),
    Person("phapche", "Võ Quốc Huy", "head", "PC", "Trưởng phòng"),
    Person("chanhvanphong", "Đặng Thu Hà", "head", "VP", "Chánh Văn phòng"),
    Person("vanthu", "Hoàng Thị Hoa", "clerk", "VP", "Văn thư"),
    Person("luutru", "Bùi Văn Khoa", "archivist", "VP", "Lưu trữ viên"),
    Person("quantri", "Ngô Quản Trị", "admin", "VP", "Quản trị hệ thống"),
)
DEMO_REGISTERS = (
    ("QD", "Sổ đăng ký Quyết định", "outgoing", "QĐ"),
    ("VBDI", "Sổ đăng ký văn bản đi", "outgoing", None),
    ("VBDEN", "Sổ đăng ký văn bản đến", "incoming", None),
)


def create_agency(
    ws: Workspace,
    agency: Agency,
    units: dict[str, str],
    people: tuple[Person, ...],
    registers: tuple[tuple[str, str, str, str | None], ...],
) -> None:
    """All of it in one transaction; refuses an agency code that exists already."""
    with transaction(ws.db) as session:
        if session.exec(select(Agency).where(Agency.code == agency.code)).first():
            raise Conflict(
                f"cơ quan {agency.code} đã có trong cơ sở dữ liệu",
                f"the agency {agency.code} is already in the database",
                code="agency.exists",
                agency=agency.code,
            )
        record = Agency.model_validate(agency.model_dump(exclude={"id"}))
        session.add(record)
        session.flush()
        assert record.id is not None
        unit_ids: dict[str, int] = {}
        for code, name in units.items():
            unit = Unit(agency_id=record.id, code=code, name=name)
            session.add(unit)
            session.flush()
            assert unit.id is not None
            unit_ids[code] = unit.id
        for person in people:
            if person.unit not in unit_ids:
                raise InvalidInput(
                    f"{person.username}: không có đơn vị '{person.unit}'",
                    f"{person.username}: there is no unit '{person.unit}'",
                    code="agency.unit_unknown",
                    user=person.username,
                    unit=person.unit,
                )
            session.add(
                User(
                    username=person.username,
                    full_name=person.full_name,
                    role=person.role,
                    unit_id=unit_ids[person.unit],
                    title=person.title,
                )
            )
        for code, name, direction, abbr in registers:
            session.add(
                Register(
                    agency_id=record.id, code=code, name=name, direction=direction, type_abbr=abbr
                )
            )
        audit.append(
            session,
            actor="admin",
            event="agency_created",
            detail={
                "agency": agency.code,
                "units": sorted(units),
                "people": [p.username for p in people],
                "registers": [r[0] for r in registers],
            },
        )


def create_demo_agency(ws: Workspace) -> None:
    """The demo agency's units, people and registers (no keys)."""
    create_agency(ws, DEMO_AGENCY, DEMO_UNITS, DEMO_PEOPLE, DEMO_REGISTERS)


def own_agency(session: Session) -> Agency:
    """The agency this installation serves (the first one created)."""
    agency = session.exec(select(Agency).order_by(col(Agency.id))).first()
    if agency is None:
        raise Conflict(
            "chưa có cơ quan (chạy `vanthu setup-demo` hoặc tạo cơ quan trước)",
            "there is no agency yet (run `vanthu setup-demo` or create the agency first)",
            code="account.no_agency",
        )
    return agency
