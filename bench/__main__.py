"""Run the benchmarks: `python -m bench [NAME] [options]`; all of them by default.

Each benchmark prints its figures and its ratios against a baseline measured in the same run.
`--json` prints one JSON object instead; `--json-out bench/results/NAME.json` also saves it with
the command, the day and the machine, and `python -m bench readme` makes the README's
performance table from the saved files.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import sys
from pathlib import Path

from bench import readme

BENCHMARKS = {
    "startup": "how soon the command line answers, against `python -c pass`",
    "flow": "approval → archive of one outgoing document, per step, against soffice alone",
    "signing": "seals and validations per second, against the pyhanko CLI per document",
    "archive": "archive ingest and search latency at 100 000 records, against a LIKE scan",
    "web": "inbox at 10 000 tasks and the document page, 8 users, against a static file",
    "exchange": "edXML envelopes signed and verified per second; issue → 03 at another agency",
}


def _save_to(options: list[str]) -> tuple[list[str], Path | None]:
    """The options without ``--json-out PATH`` (``--json`` added in its place) and PATH."""
    if "--json-out" not in options:
        return options, None
    at = options.index("--json-out")
    if at + 1 >= len(options):
        sys.exit("--json-out needs a file name, e.g. bench/results/archive.json")
    rest = options[:at] + options[at + 2 :]
    return (rest if "--json" in rest else [*rest, "--json"]), Path(options[at + 1])


def main(argv: list[str]) -> None:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        for name, what in BENCHMARKS.items():
            print(f"  {name:<9}{what}")
        print(f"  {'readme':<9}the README's performance table from bench/results/*.json")
        return
    if argv and argv[0] == "readme":
        readme.main(argv[1:])
        return
    if argv and argv[0] in BENCHMARKS:
        names, options = [argv[0]], argv[1:]
    else:
        names, options = list(BENCHMARKS), argv
    options, save_to = _save_to(options)
    if save_to is not None and len(names) > 1:
        sys.exit("--json-out saves one bench: name it (python -m bench archive --json-out …)")
    for name in names:
        out = sys.stderr if "--json" in options else sys.stdout  # stdout: the JSON alone
        print(f"== bench {name}: {BENCHMARKS[name]}", file=out, flush=True)
        run = importlib.import_module(f"bench.{name}").main
        if save_to is None:
            run(options if len(names) == 1 else [])
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            run(options)
        sys.stdout.write(printed.getvalue())
        readme.save(save_to, name, options, readme.figures_of(printed.getvalue()))
        print(f"saved {save_to}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
