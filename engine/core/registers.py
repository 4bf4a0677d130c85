"""Register numbers (Decree 30 Art. 15): one sequence per register per year, from 01, no gaps.

The counter row is incremented with UPDATE … RETURNING inside the caller's transaction: the row
lock (PostgreSQL) or the write lock (SQLite, BEGIN IMMEDIATE) makes concurrent clerks queue,
and a rolled-back issuance returns its number, so the sequence never skips or repeats.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session, col, select

from engine.core.errors import ConfigError, InvalidInput, NotFound
from engine.core.models import Agency, Register, Unit

SECRECY_LEVELS = ("Mật", "Tối mật", "Tuyệt mật")
"""Decree 30's secrecy marks (độ mật), lowest first; a document without one is not classified."""
SECRET_REGISTERS = {
    "outgoing": ("VBMDI", "Sổ đăng ký văn bản đi mật"),
    "incoming": ("VBMDEN", "Sổ đăng ký văn bản đến mật"),
}
"""Code and name of the secret register an agency gets when it first needs one."""


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


def checked_secrecy(value: str | None, option: str) -> str | None:
    """None for an unclassified document ('' too), else one of :data:`SECRECY_LEVELS` as the
    decree spells it (compared ignoring case); anything else is refused naming ``option``."""
    text = (value or "").strip()
    if not text:
        return None
    for level in SECRECY_LEVELS:
        if text.casefold() == level.casefold():
            return level
    raise InvalidInput(
        f"độ mật '{text}' ({option}) không có; chọn một trong: {', '.join(SECRECY_LEVELS)}",
        f"there is no secrecy '{text}' ({option}); choose one of: {', '.join(SECRECY_LEVELS)}",
        code="secrecy.unknown",
        field=option,
        secrecy=text,
        known=list(SECRECY_LEVELS),
    )


def register_for(
    session: Session,
    agency: Agency,
    direction: str,
    type_abbr: str | None,
    *,
    secret: bool = False,
) -> Register:
    """The register for this type, else the agency's general register for that direction.

    A classified document (``secret``) goes to the agency's secret register of that direction,
    whatever its type: "văn bản mật được đăng ký, cấp số riêng" (Decree 30 Art. 15.2), one
    series. An agency without one gets it here, at its first classified document."""
    if secret:
        return _secret_register(session, agency, direction)
    registers = session.exec(
        select(Register).where(
            Register.agency_id == agency.id,
            Register.direction == direction,
            col(Register.secret).is_(False),
        )
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


def _secret_register(session: Session, agency: Agency, direction: str) -> Register:
    """The agency's secret register of ``direction``, created at once if it has none (two
    clerks at the same moment: the unique (agency, code) keeps one, both use it)."""
    wanted = select(Register).where(
        Register.agency_id == agency.id, Register.direction == direction, col(Register.secret)
    )
    found = session.exec(wanted.order_by(col(Register.id))).first()
    if found is not None:
        return found
    code, name = SECRET_REGISTERS[direction]
    session.execute(
        text(
            "INSERT INTO register (agency_id, code, name, direction, secret) "
            "VALUES (:a, :c, :n, :d, :s) ON CONFLICT DO NOTHING"
        ),
        {"a": agency.id, "c": code, "n": name, "d": direction, "s": True},
    )
    found = session.exec(wanted.order_by(col(Register.id))).first()
    if found is None:  # the code is taken by an ordinary register of the agency's own
        raise ConfigError(
            f"cơ quan {agency.code} đã dùng mã sổ {code} cho sổ khác, chưa có sổ văn bản mật",
            f"the agency {agency.code} uses the code {code} for another register and has no"
            " secret register",
            code="register.secret_code_taken",
            agency=agency.code,
            register_code=code,
        )
    return found


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
