"""The README's performance table, generated from the benchmarks' saved JSON.

    python -m bench archive --records 1000000 --json-out bench/results/archive-1m.json
    python -m bench readme            # rewrite the table between the README's two markers
    python -m bench readme --check    # exit 1 when the README's table is not what they give

A saved result (``bench/results/<name>.json``) holds the bench's JSON object with the command
that made it, the day and the machine, so every figure in the table says where it comes from.
``ROWS`` names the figures shown, their targets and the baseline measured in the same run; a row
whose result has not been saved says so instead of keeping a figure nobody can trace.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"
START = "<!-- bench:start -->"
END = "<!-- bench:end -->"


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure of one saved result against its target and baseline."""

    figure: str
    """What is measured, as the README says it."""
    result: str
    """The saved result it comes from: ``bench/results/<result>.json``."""
    key: str
    """The figure's key in that result's JSON."""
    unit: str
    """"ms", "s" or a rate such as "records/s"."""
    target: str
    """The goal, as written (issue 14), or "—"."""
    baseline: str | None = None
    """The key of the baseline measured in the same run."""
    baseline_label: str = ""
    """What that baseline is."""


ROWS: tuple[Row, ...] = (
    Row("`vanthu --help`", "startup", "help_s_median", "s", "≤ 0.3 s",
        "python_pass_s_median", "`python -c pass`"),
    Row("`vanthu inbox`", "startup", "inbox_s_median", "s", "≤ 0.6 s",
        "python_pass_s_median", "`python -c pass`"),
    Row("approval → archive, per document", "flow", "approval_to_archive_ms_median", "ms",
        "≤ 600 ms", "soffice_alone_ms_median", "`soffice --convert-to pdf` alone"),
    Row("conversion DOCX → PDF", "flow", "convert_ms_median", "ms", "≤ 350 ms",
        "soffice_alone_ms_median", "`soffice --convert-to pdf` alone"),
    Row("seal (issue), one page", "signing", "seal_ms_median", "ms", "≤ 15 ms",
        "pyhanko_cli_addsig_ms", "`pyhanko sign addsig`, a process per document"),
    Row("validation, per signature", "signing", "validation_ms_per_signature", "ms", "≤ 10 ms",
        "pyhanko_cli_validate_ms", "`pyhanko sign validate`, a process per document"),
    *(
        Row(f"documents/s through number, seal, deliver, archive (B-LTA), {n} worker{s}",
            "flow-workers", f"ceiling_docs_per_s_workers_{n}", "documents/s",
            "≥ 40 documents/s", "ceiling_docs_per_s_in_process",
            "the same steps in one process, no Prefect")
        for n, s in ((1, ""), (2, "s"), (4, "s"))
    ),
    Row("CPU per document in the Prefect server, 2 workers (the same runs)", "flow-workers",
        "ceiling_server_cpu_ms_per_doc_workers_2", "ms", "—",
        "ceiling_worker_cpu_ms_per_doc_workers_2", "the worker processes' own"),
    Row("archive ingest, folder store", "archive", "ingest_records_per_s_folder", "records/s",
        "≥ 1 000 records/s", "baseline_one_at_a_time_records_per_s_folder",
        "one record at a time"),
    Row("archive ingest, S3 (SeaweedFS)", "archive", "ingest_records_per_s_s3", "records/s",
        "≥ 300 records/s", "baseline_one_at_a_time_records_per_s_s3", "one record at a time"),
    Row("search p95, SQLite FTS5, 100 000 records", "archive-100k", "search_p95_ms_sqlite",
        "ms", "≤ 30 ms", "like_p95_ms_sqlite", "`LIKE '%…%'` scan"),
    Row("search p95, PostgreSQL, 100 000 records", "archive-100k", "search_p95_ms_postgresql",
        "ms", "≤ 30 ms", "like_p95_ms_postgresql", "`LIKE '%…%'` scan"),
    Row("search p95, SQLite FTS5, 1 000 000 records", "archive-1m", "search_p95_ms_sqlite",
        "ms", "≤ 50 ms", "like_p95_ms_sqlite", "`LIKE '%…%'` scan"),
    Row("search p95, PostgreSQL, 1 000 000 records", "archive-1m", "search_p95_ms_postgresql",
        "ms", "≤ 50 ms", "like_p95_ms_postgresql", "`LIKE '%…%'` scan"),
    *(
        Row(f"{what}, {label}, {size} records", result, f"{key}_{db}", unit, "—")
        for what, key, unit in (
            ("bulk load for search", "bulk_load_s", "s"),
            ("full-text index", "index_bytes", "bytes"),
        )
        for label, db in (("SQLite", "sqlite"), ("PostgreSQL", "postgresql"))
        for size, result in (("100 000", "archive-100k"), ("1 000 000", "archive-1m"))
    ),
    Row("inbox p95 at 10 000 tasks, 8 users, SQLite", "web", "inbox_p95_ms_sqlite", "ms",
        "≤ 100 ms", "static_p95_ms_sqlite", "a static file, same server"),
    Row("inbox p95 at 10 000 tasks, 8 users, PostgreSQL", "web", "inbox_p95_ms_postgresql",
        "ms", "≤ 100 ms", "static_p95_ms_postgresql", "a static file, same server"),
    Row("edXML envelope parsed + verified, 1 page", "exchange", "verify_per_s_1page",
        "envelopes/s", "—", "baseline_read_per_s_1page", "lxml read, unsigned"),
    Row("issue → 03 accepted at another agency", "exchange", "issue_to_03_ms_median", "ms",
        "—", "issue_alone_ms_median", "the same issue, no external recipient"),
)  # fmt: skip


def machine() -> str:
    """This machine in a few words: cores, processor, memory, system."""
    model = platform.processor() or platform.machine()
    memory = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = " ".join(line.split(":", 1)[1].split())
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f", {round(int(line.split()[1]) / 1024 / 1024)} GiB"
                break
    return f"{os.cpu_count()} cores {model}{memory}, {platform.system()}"


def figures_of(output: str) -> dict[str, Any]:
    """The JSON object a bench printed with ``--json`` (its last line that is one)."""
    for line in reversed(output.splitlines()):
        if line.strip().startswith("{"):
            found = json.loads(line)
            if isinstance(found, dict):
                return found
    raise ValueError("the bench printed no JSON object")


def save(path: Path, name: str, argv: Sequence[str], figures: Mapping[str, Any]) -> None:
    """Write a bench's figures with the command, the day, the machine and its load (the
    5-minute load average at the end of the run: other work on the machine slows a bench)."""
    options = [a for a in argv if a != "--json"]
    saved = {
        "bench": name,
        "command": " ".join(["python -m bench", name, *options]),
        "date": datetime.now(UTC).date().isoformat(),
        "machine": machine(),
        "load": round(os.getloadavg()[1], 1),
        "figures": dict(figures),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(saved, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def load_results(folder: Path = RESULTS) -> dict[str, dict[str, Any]]:
    """Every saved result in ``folder`` by name (the file's stem)."""
    results = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("figures"), dict):
            raise ValueError(f"{path}: not a saved bench result (no 'figures' object)")
        results[path.stem] = data
    return results


HOW = {
    "archive-100k": "archive --records 100000 --skip-s3",
    "archive-1m": "archive --records 1000000 --skip-s3",
    "flow-workers": "flow --workers 4 --documents 8",
}
"""The bench and options that make a saved result, when its name is not the bench's."""


def _number(value: float, unit: str) -> str:
    if unit == "bytes":
        return f"{value / 2**20:,.0f} MiB".replace(",", " ")
    if unit == "s":
        return f"{value:.2f} s" if value < 10 else f"{value:,.0f} s".replace(",", " ")
    if unit == "ms":
        shown = f"{value:.1f}" if value < 100 else f"{value:,.0f}".replace(",", " ")
        return f"{shown} ms"
    shown = f"{value:.1f}" if value < 100 else f"{value:,.0f}".replace(",", " ")
    return f"{shown} {unit}"


def _ratio(measured: float, baseline: float) -> str:
    if not baseline:
        return "—"
    ratio = measured / baseline
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.0f}×"


def _where(result: Mapping[str, Any]) -> str:
    load = result.get("load")
    return result["machine"] + (f", load {load}" if load is not None else "")


def _line(row: Row, results: Mapping[str, Mapping[str, Any]]) -> str:
    result = results.get(row.result)
    figures = result["figures"] if result else {}
    value = figures.get(row.key)
    if result is None:
        how = f"python -m bench {HOW.get(row.result, row.result)}"
        missing = f"not saved yet (`{how} --json-out bench/results/{row.result}.json`)"
        return f"| {row.figure} | {row.target} | {missing} | | | | |"
    if not isinstance(value, int | float):  # e.g. PostgreSQL did not answer in that run
        return (
            f"| {row.figure} | {row.target} | — (not in `{row.result}.json`) | — | —"
            f" | {result['date']} | {_where(result)} |"
        )
    base = figures.get(row.baseline) if row.baseline else None
    if isinstance(base, int | float):
        baseline = f"{_number(base, row.unit)} ({row.baseline_label})"
        ratio = _ratio(value, base)
    else:
        baseline, ratio = "—", "—"
    return (
        f"| {row.figure} | {row.target} | {_number(value, row.unit)} | {baseline} | {ratio}"
        f" | {result['date']} | {_where(result)} |"
    )


def table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """The Markdown table for ``results``; ratio = measured ÷ the baseline of the same run."""
    header = [
        "| figure | target | measured | baseline, same run | measured ÷ baseline | date"
        " | machine |",
        "|---|---|---|---|---|---|---|",
    ]
    return "\n".join(header + [_line(row, results) for row in ROWS])


def section(readme: str, results: Mapping[str, Mapping[str, Any]]) -> str:
    """``readme`` with the text between the two markers replaced by the table."""
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(readme):
        raise ValueError(f"README has no {START} … {END} markers")
    return pattern.sub(lambda _: f"{START}\n{table(results)}\n{END}", readme, count=1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench readme", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    parser.add_argument("--results", type=Path, default=RESULTS, help="saved results folder")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    current = args.readme.read_text(encoding="utf-8")
    wanted = section(current, load_results(args.results))
    if args.check:
        if wanted != current:
            sys.exit(f"{args.readme}: the performance table differs; run `python -m bench readme`")
        print(f"{args.readme}: the performance table is current")
        return
    if wanted != current:
        args.readme.write_text(wanted, encoding="utf-8")
    print(f"{args.readme}: performance table from {args.results}")


if __name__ == "__main__":
    main(sys.argv[1:])
