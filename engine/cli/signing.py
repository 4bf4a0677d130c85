"""Commands for signing on the leader's own token: the server, agent tokens, the agent.

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated

import typer

from engine.cli.app import AsUser, BadValue, agent_token_app, app, settings, workspace
from engine.cli.files import read_upload

DEFAULT_PIN_ENV = "VANTHU_TOKEN_PIN"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Địa chỉ lắng nghe.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Cổng.")] = 8000,
    insecure_cookies: Annotated[
        bool,
        typer.Option(
            "--insecure-cookies",
            help="Cho cookie phiên đi qua http thường (chỉ khi thử trên chính máy này, "
            "127.0.0.1); mặc định cookie chỉ đi qua HTTPS (đặt sau proxy TLS).",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Số tiến trình phục vụ (mặc định 1; nên bằng số nhân CPU khi nhiều người dùng).",
        ),
    ] = 1,
) -> None:
    """Chạy văn phòng điện tử (web) và máy chủ cho chương trình ký số (vanthu sign-agent)."""
    from engine.automation.registry import open_workspace
    from engine.http.serving import serve as serve_app

    loaded = settings()
    if insecure_cookies:
        loaded = loaded.model_copy(update={"insecure_cookies": True})
    if loaded.insecure_cookies and not _is_loopback(host):
        raise BadValue(
            f"cookie không bảo mật (insecure_cookies) chỉ dùng khi lắng nghe trên 127.0.0.1, "
            f"không phải {host}: hãy đặt Vanthu sau một proxy HTTPS"
        )
    opened = open_workspace(loaded)  # migrated and checked once, before any worker starts
    address = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    typer.echo(f"Vanthu: văn phòng điện tử tại {address} (Ctrl+C để dừng)")
    typer.echo(
        "Đăng nhập bằng tên đăng nhập và mật khẩu của mình; chưa có mật khẩu: "
        "vanthu user set-password TÊN --as TÊN"
    )
    if not loaded.insecure_cookies:
        typer.echo(
            "Cookie phiên chỉ gửi qua HTTPS: mở qua proxy TLS của cơ quan, hoặc thử trên máy "
            "này với --insecure-cookies."
        )
    typer.echo(f"Chương trình ký số (vanthu sign-agent): --server {address}")
    serve_app(opened, host=host, port=port, workers=workers)


@agent_token_app.command("create")
def token_create(as_user: AsUser) -> None:
    """Tạo mã truy cập cho chương trình ký của người dùng; mã chỉ hiện một lần."""
    from engine.outgoing.agents import create_agent_token

    token_id, token = create_agent_token(workspace(), as_user)
    typer.echo(token)
    typer.echo(
        f"Mã truy cập #{token_id} của {as_user}: lưu vào tệp chỉ người đó đọc được "
        "(--token-file); mã không hiện lại.",
        err=True,
    )


@agent_token_app.command("revoke")
def token_revoke(
    as_user: AsUser,
    token_id: Annotated[
        int | None,
        typer.Option("--id", min=1, max=2**63 - 1, help="Chỉ thu hồi mã này (mặc định: mọi mã)."),
    ] = None,
) -> None:
    """Thu hồi mã truy cập của chương trình ký (một mã, hoặc mọi mã của người dùng)."""
    from engine.outgoing.agents import revoke_agent_tokens

    revoked = revoke_agent_tokens(workspace(), as_user, token_id)
    if not revoked:
        typer.echo(f"{as_user} không có mã truy cập nào còn hiệu lực.")
        return
    shown = ", ".join(f"#{i}" for i in revoked)
    typer.echo(f"Đã thu hồi mã truy cập {shown} của {as_user}.")


@app.command("sign-agent")
def sign_agent(
    server: Annotated[str, typer.Option(help="Địa chỉ máy chủ Vanthu (vanthu serve).")],
    token_file: Annotated[Path, typer.Option(help="Tệp chứa mã truy cập (agent-token create).")],
    module: Annotated[Path, typer.Option(help="Thư viện PKCS#11 của thiết bị ký (.so).")],
    token_label: Annotated[str, typer.Option(help="Tên (nhãn) thiết bị ký.")],
    key_label: Annotated[
        str | None, typer.Option(help="Nhãn khóa, khi thiết bị có nhiều khóa.")
    ] = None,
    pin_env: Annotated[
        str, typer.Option(help="Biến môi trường chứa mã PIN (không có thì hỏi).")
    ] = DEFAULT_PIN_ENV,
    once: Annotated[bool, typer.Option("--once", help="Ký những gì đang chờ rồi dừng.")] = False,
    interval: Annotated[
        float, typer.Option(min=0.5, help="Số giây giữa hai lần hỏi máy chủ.")
    ] = 10.0,
) -> None:
    """Chạy bên cạnh thiết bị ký: lấy văn bản chờ ký của mình, ký trên thiết bị, gửi chữ ký về.

    Khóa bí mật không rời thiết bị ký; chỉ giá trị băm và chữ ký đi qua mạng.
    """
    from engine.http.agent import AgentSettings, read_token, run_agent

    token = read_token(read_upload(token_file, "--token-file", 4096).data, token_file)
    pin = os.environ.get(pin_env)
    if pin is None:
        pin = typer.prompt("Mã PIN của thiết bị ký", hide_input=True)
    settings = AgentSettings(
        server=server,
        token=token,
        module=module,
        token_label=token_label,
        key_label=key_label,
        pin=pin,
    )
    try:
        run_agent(settings, once=once, interval=interval, echo=typer.echo)
    except KeyboardInterrupt:
        typer.echo("Đã dừng chương trình ký.")
