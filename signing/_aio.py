"""Run pyHanko's async API from the package's plain (synchronous) functions.

Callers are ordinary code, but one may already sit inside an event loop (an async web handler,
an async Prefect task), where ``asyncio.run`` refuses to start; there the coroutine runs on a
short-lived thread with its own loop, in a copy of the caller's context: settings kept in
context variables (the signing policy, the clock) hold there too.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(context.run, asyncio.run, coroutine).result()
