"""How an envelope reaches a peer: a :class:`Transport`. Direct HTTP between agencies now; the
national axis (trục liên thông) plugs in beside it with the same ``send``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

from engine.core.models import ExchangePeer

ENDPOINT = "/exchange/edxml"
"""Where a Vanthu instance takes envelopes and status messages (``vanthu serve``)."""
DELIVERED_AGAIN = frozenset({"exchange.replayed", "exchange.duplicate_document"})
"""Answers that mean the peer has it already: a second delivery counts as delivered."""


@dataclass(frozen=True)
class DeliveryReceipt:
    """What the peer answered."""

    delivered: bool
    """The peer has the message (just now, or it had it already)."""
    retry: bool
    """Not delivered, but may be later (the peer did not answer, or was busy)."""
    status: int
    """HTTP status; 0 when nothing answered."""
    code: str
    """The peer's answer code (``exchange.accepted``, ``exchange.sender_unknown``…)."""
    detail: str = ""


class Transport(Protocol):
    """Sends one signed envelope to one peer and says what came of it (never raises for the
    peer's answer or its absence: that is in the receipt)."""

    def send(self, peer: ExchangePeer, envelope: bytes) -> DeliveryReceipt: ...


class HttpTransport:
    """POST to ``<peer url>/exchange/edxml``; TLS is the reverse proxy's business."""

    def __init__(self, timeout: float = 30.0, connect_timeout: float = 5.0) -> None:
        # a peer that is down should not hold up the action that sends (inline runner) long
        self.timeout = httpx.Timeout(timeout, connect=connect_timeout)

    def send(self, peer: ExchangePeer, envelope: bytes) -> DeliveryReceipt:
        try:
            response = httpx.post(
                peer.url + ENDPOINT,
                content=envelope,
                headers={"Content-Type": "application/xml"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            return DeliveryReceipt(False, True, 0, "exchange.peer_unreachable", str(exc))
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = str(body.get("code", "")) if isinstance(body, dict) else ""
        detail = str(body.get("detail", "")) if isinstance(body, dict) else ""
        status = response.status_code
        if 200 <= status < 300 or (status == 409 and code in DELIVERED_AGAIN):
            return DeliveryReceipt(True, False, status, code or "exchange.accepted", detail)
        retry = status >= 500 or status in (408, 429)
        return DeliveryReceipt(False, retry, status, code or f"http.{status}", detail)
