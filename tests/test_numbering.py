"""Register numbers: 01…N per register and year, no gaps, no duplicates, even under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

from engine.core.db import make_engine, transaction, upgrade
from engine.core.errors import ConfigError
from engine.core.models import Agency, Register
from engine.core.registers import format_symbol, next_number, register_for, symbol_hint
from tests_support import refused


def _register(database_url: str) -> tuple[str, int]:
    engine = make_engine(database_url)
    upgrade(engine)
    with transaction(engine) as session:
        agency = Agency(code="SNV", name="SỞ NỘI VỤ", place="Hà Nội")
        session.add(agency)
        session.flush()
        assert agency.id is not None
        session.add(Register(agency_id=agency.id, code="QD", name="Sổ QĐ", direction="outgoing"))
    with transaction(engine) as session:
        register = session.exec(select(Register)).one()
        assert register.id is not None
        return database_url, register.id


def test_numbers_restart_each_year_and_follow_each_register(database_url: str) -> None:
    url, register_id = _register(database_url)
    engine = make_engine(url)
    with transaction(engine) as session:
        assert [next_number(session, register_id, 2026) for _ in range(3)] == [1, 2, 3]
        assert next_number(session, register_id, 2027) == 1
        assert next_number(session, register_id, 2026) == 4


def test_a_rolled_back_issuance_gives_its_number_back(database_url: str) -> None:
    url, register_id = _register(database_url)
    engine = make_engine(url)
    with pytest.raises(RuntimeError), transaction(engine) as session:
        assert next_number(session, register_id, 2026) == 1
        raise RuntimeError("the seal step failed after numbering")
    with transaction(engine) as session:
        assert next_number(session, register_id, 2026) == 1


def test_concurrent_clerks_get_01_to_n_without_gap_or_duplicate(database_url: str) -> None:
    url, register_id = _register(database_url)
    engine = make_engine(url)
    issued = 40

    def issue_one(_: int) -> int:
        with transaction(engine) as session:
            return next_number(session, register_id, 2026)

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(issue_one, range(issued)))
    assert sorted(numbers) == list(range(1, issued + 1))


def test_symbols_follow_decree_30() -> None:
    assert format_symbol(5, type_abbr="QĐ", agency_code="SNV", unit_code="VP") == "05/QĐ-SNV"
    assert format_symbol(12, type_abbr=None, agency_code="SNV", unit_code="VP") == "12/SNV-VP"
    assert format_symbol(100, type_abbr="TB", agency_code="UBND", unit_code="VP") == "100/TB-UBND"
    assert symbol_hint(type_abbr="QĐ", agency_code="SNV", unit_code="VP") == "/QĐ-SNV"


def test_a_type_without_a_register_is_an_installation_gap(database_url: str) -> None:
    url, _ = _register(database_url)
    with transaction(make_engine(url)) as session:
        agency = session.exec(select(Agency)).one()
        assert register_for(session, agency, "outgoing", "QĐ").code == "QD"  # the general one
        with refused("register.not_found", ConfigError, direction="incoming", agency="SNV"):
            register_for(session, agency, "incoming", None)
