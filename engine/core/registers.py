"""Register numbers (Decree 30 Art. 15): one sequence per register per year, from 01, no gaps.

The counter row is incremented with UPDATE … RETURNING inside the caller's transaction: the row
lock (PostgreSQL) or the write lock (SQLite, BEGIN IMMEDIATE) makes concurrent clerks queue,
and a rolled-back issuance returns its number, so the sequence never skips or repeats.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session, select

from engine.core.errors import ConfigError, NotFound
from engine.core.models import Agency, Register, Unit


def next_number(session: Session, register_id: int, year: int) -> int:
    session.execute(
        text(
            "INSERT INTO register_counter (register_id, year, last_number) "
            "VALUES (:r, :y, 0) ON CONFLICT DO NOTHING"
        ),
        {"r": register_id, "y": year},
    )
    number = session.execute(
        text(
            "UPDATE register_counter SET last_number = last_number + 1 "
            "WHERE register_id = :r AND year = :y RETURNING last_number"
        ),
        {"r": register_id, "y": year},
    ).scalar_one()
    return int(number)


def format_number(number: int) -> str:
    """Numbers below 10 take a leading zero: 01 … 09, 10, 11 …"""
    return f"{number:02d}"


def format_symbol(number: int, *, type_abbr: str | None, agency_code: str, unit_code: str) -> str:
    """'05/QĐ-SNV' for typed documents, '15/SNV-VP' for a Công văn (no type abbreviation)."""
    if type_abbr:
        return f"{format_number(number)}/{type_abbr}-{agency_code}"
    return f"{format_number(number)}/{agency_code}-{unit_code}"


def symbol_hint(*, type_abbr: str | None, agency_code: str, unit_code: str) -> str:
    """What the draft shows after 'Số:' before a number exists: '/QĐ-SNV'."""
    return format_symbol(0, type_abbr=type_abbr, agency_code=agency_code, unit_code=unit_code)[2:]


def register_for(
    session: Session, agency: Agency, direction: str, type_abbr: str | None
) -> Register:
    """The register for this type, else the agency's general register for that direction."""
    registers = session.exec(
        select(Register).where(Register.agency_id == agency.id, Register.direction == direction)
    ).all()
    for register in registers:
        if register.type_abbr is not None and register.type_abbr == type_abbr:
            return register
    for register in registers:
        if register.type_abbr is None:
            return register
    kind = {"outgoing": ("đi", "outgoing"), "incoming": ("đến", "incoming")}.get(
        direction, (direction, direction)
    )
    raise ConfigError(
        f"cơ quan {agency.code} chưa có sổ đăng ký văn bản {kind[0]} cho loại này",
        f"the agency {agency.code} has no register of {kind[1]} documents for this type",
        code="register.not_found",
        agency=agency.code,
        direction=direction,
        type_abbr=type_abbr,
    )


def unit_code(session: Session, unit_id: int) -> str:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(
            f"không có đơn vị #{unit_id}",
            f"no unit #{unit_id}",
            code="unit.not_found",
            unit_id=unit_id,
        )
    return unit.code
