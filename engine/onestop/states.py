"""A dossier's states, one to one with the codes deployed systems send the national portal."""

from __future__ import annotations

from enum import IntEnum


class DossierState(IntEnum):
    """The portal's state codes (1…10); the value is the code."""

    NEW = 1
    """Filed online, not yet received at the desk (Mới)."""
    RECEIVED = 2
    """Received complete at the desk, not yet taken up by the handling unit (Đã tiếp nhận)."""
    REFUSED = 3
    """Refused at the desk, with reasons (Không tiếp nhận)."""
    PROCESSING = 4
    """Being processed by the handling unit (Đang xử lý)."""
    WAITING_COMPLETION = 5
    """Waiting for the citizen to complete it (Chờ bổ sung, hoàn thiện)."""
    WAITING_FEES = 6
    """Waiting for fees or financial obligations (Chờ thực hiện nghĩa vụ tài chính)."""
    WITHDRAWN = 7
    """Withdrawn by the citizen (Công dân rút hồ sơ)."""
    STOPPED = 8
    """Processing stopped (Dừng xử lý)."""
    PROCESSED = 9
    """Processed: the result is signed and waits at the desk (Đã xử lý xong)."""
    RETURNED = 10
    """The result was returned to the citizen (Đã trả kết quả)."""


STATE_NAMES = {
    DossierState.NEW: "Mới (nộp trực tuyến, chưa tiếp nhận)",
    DossierState.RECEIVED: "Đã tiếp nhận",
    DossierState.REFUSED: "Không tiếp nhận",
    DossierState.PROCESSING: "Đang xử lý",
    DossierState.WAITING_COMPLETION: "Chờ bổ sung, hoàn thiện hồ sơ",
    DossierState.WAITING_FEES: "Chờ thực hiện nghĩa vụ tài chính",
    DossierState.WITHDRAWN: "Công dân rút hồ sơ",
    DossierState.STOPPED: "Dừng xử lý",
    DossierState.PROCESSED: "Đã xử lý xong, chờ trả kết quả",
    DossierState.RETURNED: "Đã trả kết quả",
}
"""What people read for each state (the public look-up, `vanthu onestop show`)."""

CHANNELS = {1: "Trực tiếp", 2: "Trực tuyến", 3: "Qua dịch vụ bưu chính công ích"}
"""How a dossier was filed: the portal's channel codes."""

ENDED = frozenset(
    {DossierState.REFUSED, DossierState.WITHDRAWN, DossierState.STOPPED, DossierState.RETURNED}
)
"""States nothing follows."""
