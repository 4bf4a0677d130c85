"""Run the benchmarks: `python -m bench [NAME] [options]`; all of them by default.

Each benchmark prints its figures and its ratios against a baseline measured in the same run.
"""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = {
    "startup": "how soon the command line answers, against `python -c pass`",
    "flow": "approval → archive of one outgoing document, per step, against soffice alone",
    "signing": "seals and validations per second, against the pyhanko CLI per document",
    "archive": "archive ingest and search latency at 100 000 records, against a LIKE scan",
    "web": "inbox at 10 000 tasks and the document page, 8 users, against a static file",
    "exchange": "edXML envelopes signed and verified per second; issue → 03 at another agency",
}


def main(argv: list[str]) -> None:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        for name, what in BENCHMARKS.items():
            print(f"  {name:<9}{what}")
        return
    if argv and argv[0] in BENCHMARKS:
        names, options = [argv[0]], argv[1:]
    else:
        names, options = list(BENCHMARKS), argv
    for name in names:
        out = sys.stderr if "--json" in options else sys.stdout  # stdout: the JSON alone
        print(f"== bench {name}: {BENCHMARKS[name]}", file=out, flush=True)
        importlib.import_module(f"bench.{name}").main(options if len(names) == 1 else [])


if __name__ == "__main__":
    main(sys.argv[1:])
