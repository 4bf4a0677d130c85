"""What every Vanthu package stands on: the error model and the clock.

``engine``, ``signing`` and ``storage`` raise :class:`VanthuError` subclasses and ask
:func:`clock.now` the time; this package imports none of them.
"""

from vanthu import clock
from vanthu.errors import CODE_PATTERN, Kind, VanthuError

__all__ = ["CODE_PATTERN", "Kind", "VanthuError", "clock"]
