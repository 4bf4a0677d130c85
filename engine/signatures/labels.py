"""The words a verification report uses, in Vietnamese (shared by the report and the faces)."""

VERDICTS = {
    "valid": "HỢP LỆ",
    "invalid": "KHÔNG HỢP LỆ",
    "indeterminate": "CHƯA XÁC ĐỊNH ĐƯỢC",
    "unsigned": "KHÔNG CÓ CHỮ KÝ SỐ",
}
VERDICTS_EN = {
    "valid": "valid",
    "invalid": "invalid",
    "indeterminate": "indeterminate",
    "unsigned": "unsigned",
}
COLOURS = {
    "valid": "#0a5d1e",
    "invalid": "#a30000",
    "indeterminate": "#8a5a00",
    "unsigned": "#444444",
}
KINDS = {
    "person": "chứng thư cá nhân",
    "organisation": "chứng thư cơ quan, tổ chức",
    "unknown": "không xác định",
}
REVOCATIONS = {
    "good": "chưa bị thu hồi",
    "revoked": "ĐÃ BỊ THU HỒI",
    "unknown": "không xác định được",
}
SOURCES = {"embedded": "thông tin kèm trong tệp", "online": "hỏi dịch vụ OCSP/CRL"}
COVERS = {
    "whole_file": "toàn bộ tệp",
    "earlier_revision": "một phiên bản trước của tệp (có cập nhật sau khi ký)",
    "partial": "không phủ trọn phiên bản đã ký",
}
CHANGES = {
    "none": "không có",
    "form_filling": "điền biểu mẫu (số, ngày, chữ ký tiếp theo)",
    "annotations": "thêm chú thích",
    "other": "THAY ĐỔI NỘI DUNG KHÁC",
    "no_changes": "không được thay đổi",
}
TRUST_LISTS = {
    "agency": "chứng thư gốc của cơ quan",
    "government": "danh sách tin cậy của Chính phủ",
    "given": "tệp --trust",
}
TRUST_LISTS_EN = {
    "agency": "the agency's own roots",
    "government": "the government's trust list",
    "given": "the --trust files",
}
