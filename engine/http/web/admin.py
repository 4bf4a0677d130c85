"""``/admin``: the administrator's pages — people, units, who signs for whom, certificates and
signing agents' tokens, the workflow definitions (read-only, with each file's mistakes).

Every page and every form calls an engine function that checks the person is an administrator
(account.admin_required → the 403 page) and audits what it changes. A new password is typed by
the administrator (twice); a second factor's secret and an agent's token are made by the engine
and shown once, on the page that answers the form (never stored in a cookie or the database).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from engine.core import accounts, authorities, units
from engine.core.credentials import MAX_PASSWORD_LENGTH
from engine.core.definitions import DefinitionFile, Role, review_definitions
from engine.core.errors import InvalidInput, NotFound
from engine.core.users import require_admin
from engine.http.web.pages import ROLE_NAMES, flash, redirect, render
from engine.http.web.session import CurrentUser, workspace
from engine.outgoing import agents
from engine.signatures.certificates import KINDS, CertificateState, certificates, revoke_certificate
from signing.demo import REVOCATION_REASONS
from vanthu.errors import VanthuError

router = APIRouter()

Text = Annotated[str, Form(max_length=400)]

SECTIONS = (
    ("Người dùng", "/admin/users"),
    ("Đơn vị", "/admin/units"),
    ("Thẩm quyền ký", "/admin/signers"),
    ("Chứng thư số và mã truy cập", "/admin/certificates"),
    ("Quy trình", "/admin/workflows"),
)
PREFIX_NAMES = {
    "KT.": "KT. — Ký thay",
    "TL.": "TL. — Thừa lệnh",
    "TUQ.": "TUQ. — Thừa ủy quyền",
    "Q.": "Q. — Quyền",
    "TM.": "TM. — Thay mặt (tập thể)",
}
REASON_NAMES = {
    "unspecified": "Không nêu lý do",
    "key-compromise": "Lộ khóa bí mật",
    "ca-compromise": "CA bị lộ khóa",
    "affiliation-changed": "Chuyển công tác",
    "superseded": "Đã thay bằng chứng thư mới",
    "cessation-of-operation": "Thôi sử dụng",
    "certificate-hold": "Tạm dừng",
    "privilege-withdrawn": "Rút quyền",
}


def _page(request: Request, template: str, title: str, **context: Any) -> HTMLResponse:
    return render(
        request,
        f"admin/{template}",
        title=title,
        sections=SECTIONS,
        section=request.url.path,
        **context,
    )


# --- overview and people -------------------------------------------------------------------------


@router.get("/admin")
def overview(request: Request, user: CurrentUser) -> HTMLResponse:
    ws = workspace(request)
    people = accounts.list_users(ws, user.username)
    unit_rows = units.list_units(ws, user.username)
    files = review_definitions(
        ws.settings.effective_workflows_dir, automated_steps=ws.plugins.steps.keys()
    )
    return _page(
        request,
        "overview.html",
        "Quản trị",
        people=people,
        units=unit_rows,
        broken=[f for f in files if f.error is not None],
        files=files,
    )


@router.get("/admin/users")
def users(request: Request, user: CurrentUser) -> HTMLResponse:
    ws = workspace(request)
    return _page(
        request,
        "users.html",
        "Người dùng",
        people=accounts.list_users(ws, user.username),
        units=units.list_units(ws, user.username),
        roles=ROLE_NAMES,
    )


@router.post("/admin/users")
def add_user(
    request: Request,
    user: CurrentUser,
    username: Text,
    full_name: Text,
    role: Text,
    unit: Text,
    title: Text,
) -> Response:
    added = accounts.add_user(
        workspace(request),
        user.username,
        username.strip(),
        full_name=full_name,
        role=role,
        unit=unit,
        title=title,
    )
    flash(
        request,
        f"Đã thêm {added.username} — {added.full_name}. Đặt mật khẩu để người này đăng nhập được.",
        "success",
    )
    return redirect(f"/admin/users/{added.username}")


def _person(request: Request, actor: str, username: str) -> accounts.UserRow:
    for row in accounts.list_users(workspace(request), actor):
        if row.username == username:
            return row
    raise NotFound(
        f"không có người dùng '{username}'",
        f"no user '{username}'",
        code="user.not_found",
        user=username,
    )


@router.get("/admin/users/{username}")
def person(request: Request, user: CurrentUser, username: str) -> HTMLResponse:
    ws = workspace(request)
    row = _person(request, user.username, username)
    return _page(
        request,
        "person.html",
        row.full_name,
        person=row,
        units=units.list_units(ws, user.username),
        roles=ROLE_NAMES,
        enrolment=None,
    )


@router.post("/admin/users/{username}/change")
def change(
    request: Request, user: CurrentUser, username: str, role: Text, title: Text, unit: Text
) -> Response:
    accounts.change_user(
        workspace(request), user.username, username, role=role, title=title, unit=unit
    )
    flash(request, f"Đã lưu vai trò, chức danh, đơn vị của {username}.", "success")
    return redirect(f"/admin/users/{username}")


@router.post("/admin/users/{username}/password")
def password(
    request: Request,
    user: CurrentUser,
    username: str,
    new_password: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH + 1)],
    new_password_again: Annotated[str, Form(max_length=MAX_PASSWORD_LENGTH + 1)],
) -> Response:
    if new_password != new_password_again:
        raise InvalidInput(
            "hai lần nhập mật khẩu mới không giống nhau",
            "the two new passwords differ",
            code="account.password_mismatch",
        )
    ended = accounts.set_password(workspace(request), user.username, username, new_password)
    note = f"; {ended} phiên đăng nhập đang mở đã kết thúc" if ended else ""
    flash(request, f"Đã đặt mật khẩu mới cho {username}{note}.", "success")
    return redirect(f"/admin/users/{username}")


@router.post("/admin/users/{username}/totp")
def totp(request: Request, user: CurrentUser, username: str) -> HTMLResponse:
    ws = workspace(request)
    enrolment = accounts.enrol_totp(ws, user.username, username)
    row = _person(request, user.username, username)
    return _page(
        request,
        "person.html",
        row.full_name,
        person=row,
        units=units.list_units(ws, user.username),
        roles=ROLE_NAMES,
        enrolment=enrolment,
    )


@router.post("/admin/users/{username}/disable")
def disable(request: Request, user: CurrentUser, username: str) -> Response:
    ended = accounts.disable_user(workspace(request), user.username, username)
    note = f"; {ended} phiên đăng nhập đang mở đã kết thúc" if ended else ""
    flash(request, f"Đã khóa tài khoản {username}{note}.", "success")
    return redirect("/admin/users")


# --- units and signing authority -----------------------------------------------------------------


@router.get("/admin/units")
def units_page(request: Request, user: CurrentUser) -> HTMLResponse:
    found = units.list_units(workspace(request), user.username)
    return _page(request, "units.html", "Đơn vị", units=found)


@router.post("/admin/units")
def add_unit(request: Request, user: CurrentUser, code: Text, name: Text) -> Response:
    added = units.add_unit(workspace(request), user.username, code, name)
    flash(request, f"Đã thêm đơn vị {added.code} — {added.name}.", "success")
    return redirect("/admin/units")


@router.get("/admin/signers")
def signers(request: Request, user: CurrentUser) -> HTMLResponse:
    found = authorities.signing_authorities(workspace(request), user.username)
    return _page(
        request,
        "signers.html",
        "Thẩm quyền ký",
        signers=found,
        prefixes=[(p, PREFIX_NAMES.get(p, p)) for p in authorities.SIGNING_PREFIXES],
    )


@router.post("/admin/signers/{username}")
def set_signer(
    request: Request, user: CurrentUser, username: str, prefix: Text, on_behalf_of: Text
) -> Response:
    line = authorities.set_signing_authority(
        workspace(request), user.username, username, prefix, on_behalf_of
    )
    flash(request, f"{username} ký: “{line}” trên các dự thảo soạn từ bây giờ.", "success")
    return redirect("/admin/signers")


@router.post("/admin/signers/{username}/clear")
def clear_signer(request: Request, user: CurrentUser, username: str) -> Response:
    authorities.clear_signing_authority(workspace(request), user.username, username)
    flash(request, f"{username} ký theo mặc định trở lại.", "success")
    return redirect("/admin/signers")


# --- certificates and tokens ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Pki:
    states: list[CertificateState]
    problem: str | None


def _pki(request: Request) -> _Pki:
    """The PKI's certificates, or why they cannot be read (no PKI set up: a note, not a 500)."""
    try:
        return _Pki(certificates(workspace(request)), None)
    except VanthuError as exc:
        return _Pki([], str(exc))


@router.get("/admin/certificates")
def certificates_page(request: Request, user: CurrentUser) -> HTMLResponse:
    return _certificates(request, user.username, new_token=None)


def _certificates(
    request: Request, actor: str, *, new_token: tuple[int, str, str] | None
) -> HTMLResponse:
    ws = workspace(request)
    tokens = agents.agent_tokens(ws, actor)  # checks the administrator first
    pki = _pki(request)
    people = [p for p in accounts.list_users(ws, actor) if p.active]
    return _page(
        request,
        "certificates.html",
        "Chứng thư số và mã truy cập",
        pki=pki,
        kinds=KINDS,
        registered=agents.registered_certificates(ws, actor),
        tokens=tokens,
        people=people,
        reasons=[(r, REASON_NAMES.get(r, r)) for r in REVOCATION_REASONS],
        new_token=new_token,
    )


@router.post("/admin/certificates/revoke")
def revoke(request: Request, user: CurrentUser, serial: Text, reason: Text) -> Response:
    require_admin(workspace(request), user.username)
    done = revoke_certificate(workspace(request), user.username, serial=serial, reason=reason)
    flash(
        request,
        f"Đã thu hồi chứng thư {done.serial:x} ({done.name}) — lý do: {done.revocation.reason_vi}.",
        "success",
    )
    return redirect("/admin/certificates")


@router.post("/admin/tokens")
def create_token(request: Request, user: CurrentUser, username: Text) -> HTMLResponse:
    token_id, token = agents.issue_agent_token(workspace(request), user.username, username)
    return _certificates(request, user.username, new_token=(token_id, username, token))


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(request: Request, user: CurrentUser, token_id: int) -> Response:
    owner = agents.revoke_agent_token(workspace(request), user.username, token_id)
    flash(request, f"Đã thu hồi mã truy cập #{token_id} của {owner}.", "success")
    return redirect("/admin/certificates")


# --- workflow definitions ------------------------------------------------------------------------


@router.get("/admin/workflows")
def workflows(request: Request, user: CurrentUser) -> HTMLResponse:
    ws = workspace(request)
    require_admin(ws, user.username)
    directory = ws.settings.effective_workflows_dir
    files: list[DefinitionFile] = sorted(
        review_definitions(directory, automated_steps=ws.plugins.steps.keys()),
        key=lambda f: f.error is None,  # the files with a mistake first
    )
    return _page(
        request,
        "workflows.html",
        "Quy trình",
        directory=str(directory),
        files=files,
        loaded=ws.definitions,
        role_names={r.value: ROLE_NAMES.get(r.value, r.value) for r in Role},
    )
