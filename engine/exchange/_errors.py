"""The errors of the edXML format: one line naming what is wrong and where."""

from __future__ import annotations

from engine.core.errors import InvalidInput


class EdxmlUnreadable(InvalidInput):
    """An edXML file or message that cannot be read as an envelope or a status message.

    The face that shows it (``vanthu exchange inspect``) exits 3, as ``vanthu verify`` does for
    a file it cannot read; the exchange refuses the message with this one line."""

    code = "exchange.edxml.unreadable"
