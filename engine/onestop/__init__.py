"""One-stop dossiers (một cửa): citizens' dossiers for administrative procedures received at
the desk, handled by a unit within the legal time, signed and returned; procedures as data,
forms of Thông tư 01/2018/TT-VPCP as replaceable DOCX templates, states of the national portal."""

from engine.onestop.dossiers import (
    DossierRequest,
    act_on,
    apologise,
    check_at_desk,
    close_dossier,
    file_dossier,
    missing_components,
    procedure,
    procedures,
    receive,
    return_result,
)
from engine.onestop.forms import FORMS, form_docx, form_pdf, lookup_url, qr_png, write_templates
from engine.onestop.procedures import Component, Procedure, load_procedures
from engine.onestop.states import CHANNELS, STATE_NAMES, DossierState
from engine.onestop.views import (
    DossierView,
    PublicStatus,
    dossier_tracked,
    dossier_view,
    public_status,
)

__all__ = [
    "CHANNELS",
    "FORMS",
    "STATE_NAMES",
    "Component",
    "DossierRequest",
    "DossierState",
    "DossierView",
    "Procedure",
    "PublicStatus",
    "act_on",
    "apologise",
    "check_at_desk",
    "close_dossier",
    "dossier_tracked",
    "dossier_view",
    "file_dossier",
    "form_docx",
    "form_pdf",
    "load_procedures",
    "lookup_url",
    "missing_components",
    "procedure",
    "procedures",
    "public_status",
    "qr_png",
    "receive",
    "return_result",
    "write_templates",
]
