"""The exchange of documents between agencies: the edXML format (QCVN 102:2016)."""

from engine.exchange._errors import EdxmlUnreadable
from engine.exchange._xmldsig import SignatureCheck
from engine.exchange.edxml import (
    BUSINESS,
    NS,
    PRIORITIES,
    STATUS_DESCRIPTIONS,
    TYPE_CODES,
    Attachment,
    DocumentEnvelope,
    Organ,
    Parsed,
    ResponseFor,
    StatusMessage,
    build_document,
    build_status,
    make_document_id,
    parse,
    status_message,
)

__all__ = [
    "BUSINESS",
    "NS",
    "PRIORITIES",
    "STATUS_DESCRIPTIONS",
    "TYPE_CODES",
    "Attachment",
    "DocumentEnvelope",
    "EdxmlUnreadable",
    "Organ",
    "Parsed",
    "ResponseFor",
    "SignatureCheck",
    "StatusMessage",
    "build_document",
    "build_status",
    "make_document_id",
    "parse",
    "status_message",
]

# --- the exchange runtime: peers, delivery, arrivals, statuses ---
from engine.exchange.arrivals import Answer, accept, max_envelope_bytes
from engine.exchange.delivery import Delivery, deliver_pending, send_to_recipients
from engine.exchange.peers import (
    Identity,
    Peer,
    add_peer,
    identity,
    list_peers,
    remove_peer,
    set_organ_id,
)
from engine.exchange.reporting import (
    Arrival,
    RecipientStatus,
    StatusEvent,
    arrival_of,
    exchange_status,
    report_status,
)
from engine.exchange.requests import (
    Request,
    answer,
    pending_requests,
    recall,
    replace,
    update,
)
from engine.exchange.transport import (
    ENDPOINT,
    DeliveryReceipt,
    HttpTransport,
    Transport,
)

__all__ += [
    "ENDPOINT",
    "Answer",
    "Arrival",
    "Delivery",
    "DeliveryReceipt",
    "HttpTransport",
    "Identity",
    "Peer",
    "RecipientStatus",
    "Request",
    "StatusEvent",
    "Transport",
    "accept",
    "add_peer",
    "answer",
    "arrival_of",
    "deliver_pending",
    "exchange_status",
    "identity",
    "list_peers",
    "max_envelope_bytes",
    "pending_requests",
    "recall",
    "remove_peer",
    "replace",
    "report_status",
    "send_to_recipients",
    "set_organ_id",
    "update",
]
