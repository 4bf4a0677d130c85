"""The README's performance table is made from the saved bench results and cannot drift."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/ is not installed
from bench import readme  # noqa: E402
from bench.__main__ import _save_to  # noqa: E402


def test_the_readme_table_is_what_the_saved_results_give() -> None:
    current = readme.README.read_text(encoding="utf-8")
    assert readme.section(current, readme.load_results()) == current, (
        "README.md's performance table differs from bench/results/*.json:"
        " run `python -m bench readme`"
    )


def test_a_saved_result_fills_its_rows_and_a_missing_one_says_so(tmp_path: Path) -> None:
    printed = 'progress…\n{"search_p95_ms_sqlite": 12.5, "like_p95_ms_sqlite": 250.0}\n'
    options, path = _save_to(["--records", "100000", "--json-out", str(tmp_path / "r.json")])
    assert options == ["--records", "100000", "--json"] and path == tmp_path / "r.json"
    readme.save(tmp_path / "archive-100k.json", "archive", options, readme.figures_of(printed))
    saved = json.loads((tmp_path / "archive-100k.json").read_text(encoding="utf-8"))
    assert saved["command"] == "python -m bench archive --records 100000"
    assert saved["figures"]["search_p95_ms_sqlite"] == 12.5
    lines = readme.table(readme.load_results(tmp_path)).splitlines()
    row = next(line for line in lines if "SQLite FTS5, 100 000" in line)
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[1:5] == ["≤ 30 ms", "12.5 ms", "250 ms (`LIKE '%…%'` scan)", "0.05×"]
    assert cells[5] == saved["date"] and "cores" in cells[6] and ", load " in cells[6]
    postgres = next(line for line in lines if "PostgreSQL, 100 000 records" in line)
    assert "—" in postgres  # the key is missing from the saved figures: no number, no ratio
    signing = next(line for line in lines if "validation, per signature" in line)
    assert "not saved yet (`python -m bench signing --json-out bench/results/signing.json`)" in (
        signing
    )


def test_only_the_text_between_the_markers_changes(tmp_path: Path) -> None:
    text = f"# Title\n\nbefore\n{readme.START}\nold table\n{readme.END}\nafter\n"
    made = readme.section(text, {})
    assert made.startswith("# Title\n\nbefore\n" + readme.START + "\n| figure |")
    assert made.endswith(readme.END + "\nafter\n") and "old table" not in made
    with pytest.raises(ValueError, match="markers"):
        readme.section("# no markers here\n", {})


def test_readme_check_fails_on_a_hand_edited_table(tmp_path: Path) -> None:
    copy = tmp_path / "README.md"
    copy.write_text(f"x\n{readme.START}\n{readme.END}\n", encoding="utf-8")
    command = [sys.executable, "-m", "bench", "readme", "--readme", str(copy), "--results"]
    command.append(str(tmp_path / "none"))
    check = subprocess.run([*command, "--check"], cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 1 and "python -m bench readme" in check.stderr
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    again = subprocess.run([*command, "--check"], cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert "| `vanthu --help` | ≤ 0.3 s | not saved yet" in copy.read_text(encoding="utf-8")
