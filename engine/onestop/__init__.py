"""One-stop dossiers (một cửa): citizens' dossiers for administrative procedures received at
the desk, handled by a unit within the legal time, signed and returned; procedures as data,
forms of Thông tư 01/2018/TT-VPCP as replaceable DOCX templates, states of the national portal;
the result signed (numbered and sealed when it is a decision), the signed apology letter, fees."""

from engine.onestop.apology import apologise, apology_letter
from engine.onestop.dossiers import (
    DossierRequest,
    act_on,
    check_at_desk,
    close_dossier,
    dossier_code_of,
    file_dossier,
    missing_components,
    procedure,
    procedures,
    receive,
    refuse_outside_desk,
    return_result,
)
from engine.onestop.fees import ask_fees, money, record_payment
from engine.onestop.forms import FORMS, form_docx, form_pdf, lookup_url, qr_png, write_templates
from engine.onestop.listing import (
    DUE_FILTERS,
    RUNNING,
    DossierFilters,
    DossierListing,
    DossierRow,
    dossier_filters,
    list_dossiers,
)
from engine.onestop.procedures import (
    DECISION,
    DOCUMENT,
    RESULT_KINDS,
    Component,
    Procedure,
    load_procedures,
)
from engine.onestop.results import attach_result, issued_result
from engine.onestop.states import CHANNELS, STATE_NAMES, DossierState
from engine.onestop.views import (
    DossierView,
    PublicStatus,
    ResultInfo,
    dossier_tracked,
    dossier_view,
    public_status,
)

__all__ = [
    "CHANNELS",
    "DECISION",
    "DOCUMENT",
    "DUE_FILTERS",
    "FORMS",
    "RESULT_KINDS",
    "RUNNING",
    "STATE_NAMES",
    "Component",
    "DossierFilters",
    "DossierListing",
    "DossierRequest",
    "DossierRow",
    "DossierState",
    "DossierView",
    "Procedure",
    "PublicStatus",
    "ResultInfo",
    "act_on",
    "apologise",
    "apology_letter",
    "ask_fees",
    "attach_result",
    "check_at_desk",
    "close_dossier",
    "dossier_code_of",
    "dossier_filters",
    "dossier_tracked",
    "dossier_view",
    "file_dossier",
    "form_docx",
    "form_pdf",
    "issued_result",
    "list_dossiers",
    "load_procedures",
    "lookup_url",
    "missing_components",
    "money",
    "procedure",
    "procedures",
    "public_status",
    "qr_png",
    "receive",
    "record_payment",
    "refuse_outside_desk",
    "return_result",
    "write_templates",
]
