"""`vanthu demo`: a DEMO agency made from nothing, and two outgoing documents driven through it.

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from engine.archive.search import SearchQuery, search
from engine.automation.registry import open_workspace
from engine.cli.users import password_lines
from engine.core.agency import DEMO_PEOPLE
from engine.core.audit import verify_chain
from engine.core.config import Settings, write_settings_file
from engine.core.definitions import Role
from engine.core.errors import EngineError, InvalidInput
from engine.core.workspace import Workspace
from engine.outgoing import DraftRequest, create_outgoing, render_request, upload_version
from engine.signatures.demo import setup_demo_agency
from engine.signatures.keys import pki, trust_roots
from engine.signatures.labels import CHANGES
from engine.workflow import act, outbox
from engine.workflow.documents import ACTIONS, document_view, file_content
from engine.workflow.outbox import StepRun
from signing import verify_document

DEMO_DATA = Path(__file__).parent / "data" / "demo.yaml"
Echo = Callable[[str], None]


def _request(spec: dict[str, Any]) -> DraftRequest:
    return DraftRequest(
        doc_type=spec["doc_type"],
        subject=spec["subject"],
        signer=spec["signer"],
        body=tuple(spec["body"]),
        recipients=tuple(spec["recipients"]),
    )


class DemoRun:
    """Acts as each person in turn and prints what happens."""

    def __init__(self, ws: Workspace, echo: Echo) -> None:
        self.ws, self.echo = ws, echo

    def act(self, document_id: int, who: str, action: str, comment: str | None = None) -> None:
        # a leader signs with their own PIN: the DEMO one, from the DEMO PIN file
        pin = pki(self.ws).demo_pin(who) if action == "sign" else None
        move = act(self.ws, document_id, who, action, comment=comment, pin=pin)
        note = f" — “{comment}”" if comment else ""
        step = self.ws.definition("outgoing").step(move.step).title
        self.echo(f"  {who:>14} · {ACTIONS.get(action, action)} ở bước '{step}'{note}")
        self.automated()

    def automated(self) -> None:
        outbox.run_pending(self.ws, on_run=self._report)

    def _report(self, run: StepRun) -> None:
        step = self.ws.definition("outgoing").step(run.step).title
        if not run.ok:
            raise EngineError(
                f"bước tự động '{step}' lỗi: {run.error}",
                f"automated step '{step}' failed: {run.error}",
                code="demo.step_failed",
                document_id=run.document_id,
            )
        extra = ""
        if run.detail.get("symbol"):
            extra = f": số {run.detail['symbol']}"
        if run.detail.get("record_id"):
            extra = f": bản lưu {run.detail['record_id']}"
        if run.detail.get("reused"):
            extra = " (dùng PDF đã tạo và kiểm tra khi tải dự thảo lên)"
        self.echo(f"  {'hệ thống':>14} · {step} (tự động, {run.duration_ms:.0f} ms){extra}")


def run_demo(settings: Settings, echo: Echo) -> None:
    home = settings.home
    if home.exists() and any(home.iterdir()):
        raise InvalidInput(
            f"{home} đã có dữ liệu; hãy xóa thư mục hoặc chọn --dir khác",
            f"{home} already holds data; remove the folder or choose another --dir",
            code="demo.folder_not_empty",
        )
    home.mkdir(parents=True, exist_ok=True)
    write_settings_file(home, {"steps_runner": "worker"})
    settings = settings.model_copy(update={"steps_runner": "worker"})
    ws = open_workspace(settings)
    echo(f"Cơ quan mẫu (DEMO) tại {home}: SQLite, kho tệp, PKI DEMO tạo lúc chạy")
    passwords = setup_demo_agency(ws)
    spec = yaml.safe_load(DEMO_DATA.read_text(encoding="utf-8"))
    demo = DemoRun(ws, echo)

    echo("\n1. Quyết định: soạn thảo, trả lại để sửa, góp ý, duyệt, ký, ban hành")
    decision = _request(spec["decision"])
    doc = create_outgoing(ws, "chuyenvien", decision)
    echo(f"  {'chuyenvien':>14} · tạo dự thảo #{doc} từ mẫu Nghị định 30 (phiên bản 1)")
    demo.act(doc, "chuyenvien", "submit")
    demo.act(doc, "truongphong", "return", spec["decision"]["revision_comment"])
    revised = dataclasses.replace(
        decision, body=(spec["decision"]["revised_paragraph"], *decision.body)
    )
    version = upload_version(
        ws,
        doc,
        "chuyenvien",
        render_request(ws, "chuyenvien", revised),
        "Đã bổ sung căn cứ",
    )
    echo(f"  {'chuyenvien':>14} · tải lên dự thảo phiên bản {version} (phiên bản 1 vẫn được giữ)")
    demo.act(doc, "chuyenvien", "submit")
    demo.act(doc, "truongphong", "consult")
    demo.act(doc, "phapche", "comment", "Thống nhất về căn cứ pháp lý.")
    demo.act(doc, "chanhvanphong", "comment", "Đồng ý nội dung.")
    demo.act(doc, "truongphong", "approve")
    demo.act(doc, "phogiamdoc", "sign")
    demo.act(doc, "vanthu", "issue")

    echo("\n2. Công văn: soạn thảo, duyệt, ký, ban hành")
    letter = create_outgoing(ws, "chuyenvien", _request(spec["letter"]))
    echo(f"  {'chuyenvien':>14} · tạo dự thảo #{letter}")
    for who, action in [
        ("chuyenvien", "submit"),
        ("truongphong", "approve"),
        ("giamdoc", "sign"),
        ("vanthu", "issue"),
    ]:
        demo.act(letter, who, action)

    echo("\n3. Kết quả")
    for document_id in (doc, letter):
        _show_result(ws, document_id, home / "out", echo)
    found = search(ws, SearchQuery("quyet dinh bo nhiem"), username="luutru")
    echo(f"  Tìm 'quyet dinh bo nhiem' trong lưu trữ: {[h.record_id for h in found.hits]}")
    chain = verify_chain(ws.db)
    echo(f"  Nhật ký: {chain.events} sự kiện, {'nguyên vẹn' if chain.intact else 'HỎNG'}")
    command = sys.argv[0] if Path(sys.argv[0]).name == "vanthu" else "vanthu"
    echo(f"\nThử tiếp: VANTHU_HOME={home} {command} verify {home / 'out'}/<tệp>.pdf")
    echo(
        f"\nVăn phòng điện tử: VANTHU_HOME={home} VANTHU_STEPS_RUNNER=inline {command} serve"
        " --insecure-cookies"
    )
    echo("rồi mở http://127.0.0.1:8000 và đăng nhập, ví dụ là vanthu (văn thư).")
    for line in password_lines(passwords):
        echo(line)
    leaders = [p.username for p in DEMO_PEOPLE if p.role == Role.LEADER.value]
    echo("Mã PIN ký số của lãnh đạo (DEMO; đổi bằng `vanthu pin set --as TÊN`):")
    for name in leaders:
        echo(f"  {name:<14} {pki(ws).demo_pin(name)}")


def _show_result(ws: Workspace, document_id: int, out_dir: Path, echo: Echo) -> None:
    document = document_view(ws, document_id, "vanthu").document  # the clerk who issued it
    issued, pdf = file_content(ws, document_id, "issued", "vanthu")
    out_dir.mkdir(exist_ok=True)
    target = out_dir / issued.filename
    target.write_bytes(pdf)
    report = verify_document(pdf, trust_roots(ws))
    records = search(ws, SearchQuery(symbol=document.symbol), username="luutru").hits
    echo(f"  Số: {document.symbol} — {document.doc_type} {document.subject}")
    echo(f"    PDF ban hành: {target}")
    echo(f"    Bản lưu: {records[0].record_id if records else '?'} trong {ws.store.url}")
    for sig in report.signatures:
        echo(
            f"    Chữ ký {sig.field}: {sig.signer} — {'hợp lệ' if sig.valid else 'KHÔNG hợp lệ'}"
            f", thay đổi sau khi ký: {CHANGES.get(sig.modification, sig.modification)}"
        )
