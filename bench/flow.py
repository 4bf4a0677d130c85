"""Time from approval to archive for one outgoing document, and each automated step's share.

Runs a DEMO agency in a temporary folder (SQLite, folder store), drives N documents through the
flow and reports per-step medians. Baseline, measured in the same run: LibreOffice's own
`soffice --convert-to pdf` on the same DOCX, the floor for the convert step.

    python -m bench flow [--documents 5]

With ``--workers N``: documents per second through the automated steps with 1, 2, 4 … N
`vanthu worker` processes on PostgreSQL and a Prefect server (bench/flow_workers.py).

    python -m bench flow --workers 4 --documents 8
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from engine.automation import open_workspace
from engine.core.agency import DEMO_AGENCY, DEMO_PEOPLE, create_demo_agency
from engine.core.config import load_settings
from engine.core.workspace import Workspace
from engine.outgoing import DraftRequest, create_outgoing, render_request
from engine.signatures import create_demo_keys, keys
from engine.workflow import act, outbox

DECISION = DraftRequest(
    doc_type="Quyết định",
    subject="Về việc ban hành Quy chế văn thư, lưu trữ của Sở",
    signer="phogiamdoc",
    body=tuple(f"Điều {i}. Nội dung điều {i} của quy chế văn thư, lưu trữ." for i in range(1, 9)),
    recipients=("Như Điều 3;",),
)


def _agency(home: Path) -> Workspace:
    home.mkdir()
    settings = load_settings(home, steps_runner="worker")
    ws = open_workspace(settings)
    create_demo_agency(ws)
    create_demo_keys(settings.effective_pki_dir, DEMO_AGENCY, DEMO_PEOPLE)
    return ws


def _one_document(ws: Workspace, shares: dict[str, list[float]]) -> float:
    doc = create_outgoing(ws, "chuyenvien", DECISION)
    act(ws, doc, "chuyenvien", "submit")
    pin = keys.pki(ws).demo_pin("phogiamdoc")  # the leader's own (DEMO) PIN opens their key
    started = time.perf_counter()
    timed = [
        ("approve", lambda: act(ws, doc, "truongphong", "approve")),
        ("sign", lambda: act(ws, doc, "phogiamdoc", "sign", pin=pin)),
        ("issue", lambda: act(ws, doc, "vanthu", "issue")),
    ]
    for label, action in timed:
        t0 = time.perf_counter()
        action()
        shares[f"{label} (action)"].append((time.perf_counter() - t0) * 1000)
        for run in outbox.run_pending(ws):
            if not run.ok:
                raise SystemExit(f"step {run.step} failed: {run.error}")
            shares[f"{run.step} (automated)"].append(run.duration_ms)
    return (time.perf_counter() - started) * 1000


def _soffice_baseline(ws: Workspace, work: Path, runs: int) -> list[float]:
    docx = work / "draft.docx"
    docx.write_bytes(render_request(ws, "chuyenvien", DECISION).data)
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation=file://{work}/lo-{i}",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(work),
                str(docx),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench flow", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--documents", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="measure 1, 2, 4 … N worker processes on PostgreSQL instead (documents per run)",
    )
    args = parser.parse_args(argv)
    if args.workers > 0:
        _workers(args.workers, args.documents, as_json=args.json)
        return
    work = Path(tempfile.mkdtemp(prefix="vanthu-bench-"))
    try:
        ws = _agency(work / "agency")
        shares: dict[str, list[float]] = defaultdict(list)
        _one_document(ws, defaultdict(list))  # warm-up: fonts, LibreOffice profile, key parsing
        totals = [_one_document(ws, shares) for _ in range(args.documents)]
        baseline = _soffice_baseline(ws, work, args.documents)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = statistics.median(totals)
    if args.json:
        figures = {
            "approval_to_archive_ms_median": total,
            "soffice_alone_ms_median": statistics.median(baseline),
            **{
                f"{label.split(' ')[0]}_ms_median": statistics.median(values)
                for label, values in shares.items()
            },
        }
        print(json.dumps({key: round(value, 1) for key, value in figures.items()}))
        return
    print(f"approval → archive, {args.documents} documents (median): {total:.0f} ms")
    print(f"{'part':<24}{'median ms':>12}{'share':>9}")
    for label, values in shares.items():
        median = statistics.median(values)
        print(f"{label:<24}{median:>12.1f}{median / total:>9.1%}")
    per_document = [
        totals[i] - sum(values[i] for values in shares.values()) for i in range(len(totals))
    ]
    other = statistics.median(per_document)
    print(f"{'queue, transactions':<24}{other:>12.1f}{other / total:>9.1%}")
    convert = statistics.median(shares["convert (automated)"])
    floor = statistics.median(baseline)
    print(
        f"baseline: soffice --convert-to pdf alone {floor:.0f} ms; "
        f"convert step / baseline = {convert / floor:.2f}"
    )


def _workers(most: int, documents: int, *, as_json: bool) -> None:
    from bench import flow_workers  # lazy: PostgreSQL and a Prefect server, only when asked

    work = Path(tempfile.mkdtemp(prefix="vanthu-bench-workers-"))
    try:
        figures = flow_workers.measure(work, DECISION, most, documents)
    except BaseException:
        print(f"the agency folder and the logs are kept in {work}", file=sys.stderr)
        raise
    shutil.rmtree(work, ignore_errors=True)
    if as_json:
        print(json.dumps(_rounded(figures)))
        return
    flow_workers.report(figures, most, documents)


def _rounded(value: object) -> object:
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return round(value, 2) if isinstance(value, float) else value


if __name__ == "__main__":
    main()
