"""How soon the command line answers: `vanthu --help`, a read-only command, `worker --once`.

Each command runs as a whole new process, as a person or a script runs it, several times; the
figure is the median wall time. Baseline, in the same run: `python -c pass`, the interpreter
alone. Targets on a 2-core machine: --help ≤ 0.3 s, a read-only command ≤ 0.6 s.

    python -m bench startup [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"vanthu --help": 0.3, "vanthu inbox --as chuyenvien": 0.6}
LIBRARIES = ("pyhanko", "prefect", "fastapi")


def _time(command: list[str], env: dict[str, str], runs: int) -> list[float]:
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, check=False)
        took.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()[-500:]}")
    return took


def _imported(command: list[str], env: dict[str, str]) -> list[str]:
    """Which of the heavy libraries the command imports (python -X importtime)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *command[1:]], env=env, capture_output=True
    )
    names = {line.split("|")[-1].strip() for line in done.stderr.decode().splitlines()}
    return [lib for lib in LIBRARIES if lib in names]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench startup")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args(argv)
    figures: dict[str, float] = {}
    vanthu = [sys.executable, "-m", "engine"]
    with tempfile.TemporaryDirectory(prefix="vanthu-bench-") as tmp:
        home = Path(tmp) / "agency"
        env = {**os.environ, "VANTHU_HOME": str(home)}
        for setup in (["init"], ["setup-demo"]):
            subprocess.run([*vanthu, *setup], env=env, check=True, capture_output=True)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "vanthu --help": [*vanthu, "--help"],
            "vanthu inbox --as chuyenvien": [*vanthu, "inbox", "--as", "chuyenvien"],
            "vanthu steps list": [*vanthu, "steps", "list"],
            "vanthu worker --once (empty queue)": [*vanthu, "worker", "--once"],
        }
        baseline = statistics.median(_time(commands["python -c pass"], env, args.runs))
        if args.json:
            keys = ("python_pass", "help", "inbox", "steps_list", "worker_once_empty")
            for key, command in zip(keys, commands.values(), strict=True):
                figures[f"{key}_s_median"] = statistics.median(_time(command, env, args.runs))
            print(json.dumps({key: round(value, 3) for key, value in figures.items()}))
            return
        print(f"{'command':<38}{'median s':>10}{'min s':>8}{'× python':>10}  target  imports")
        for name, command in commands.items():
            took = _time(command, env, args.runs)
            median = statistics.median(took)
            target = TARGETS.get(name)
            verdict = "" if target is None else ("ok" if median <= target else "SLOW")
            shown = f"≤{target:g} {verdict}" if target else ""
            heavy = ", ".join(_imported(command, env)) if name != "python -c pass" else ""
            print(
                f"{name:<38}{median:>10.3f}{min(took):>8.3f}{median / baseline:>10.1f}"
                f"  {shown:<9} {heavy or '—'}"
            )
