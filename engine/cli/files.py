"""Files a command reads from or writes to the person's disk, refused with one clear line.

Each command imports the engine inside its body (lazy, for start-up: see engine.cli.app).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.workflow.files import Upload


def _invalid(vi: str, en: str, path: Path, *, code: str) -> Exception:
    from engine.core.errors import InvalidInput

    return InvalidInput(vi, en, code=code, path=str(path))  # the path is in the text already


def read_upload(path: Path, option: str, max_bytes: int) -> Upload:
    """A file the person hands in, checked for existence and size before it is read."""
    from engine.workflow.files import Upload

    if not path.is_file():
        raise _invalid(
            f"{option} {path}: không có tệp này",
            f"{option} {path}: no such file",
            path,
            code="input.file_missing",
        )
    if path.stat().st_size > max_bytes:
        raise _invalid(
            f"{path}: tệp lớn hơn giới hạn {max_bytes // (1024 * 1024)} MB",
            f"{path}: the file is larger than the {max_bytes // (1024 * 1024)} MB limit",
            path,
            code="input.too_large",
        )
    return Upload(path.name, path.read_bytes())


def read_paragraphs(path: Path, option: str, max_bytes: int) -> tuple[str, ...]:
    """A text file, one paragraph per line (UTF-8)."""
    data = read_upload(path, option, max_bytes).data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid(
            f"{option} {path}: không phải văn bản UTF-8 (byte {exc.start})",
            f"{option} {path}: not UTF-8 text (byte {exc.start})",
            path,
            code="input.not_utf8",
        ) from exc
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def write_output(path: Path, data: bytes, option: str, *, check_only: bool = False) -> None:
    """Write ``data`` to ``path``; a missing folder or a folder in its place is one line."""
    if path.is_dir():
        raise _invalid(
            f"{option} {path}: là thư mục, cần đường dẫn tệp",
            f"{option} {path}: is a folder, a file path is needed",
            path,
            code="output.is_folder",
        )
    if not path.parent.resolve().is_dir():
        raise _invalid(
            f"{option} {path}: không có thư mục {path.parent}",
            f"{option} {path}: no folder {path.parent}",
            path,
            code="output.folder_missing",
        )
    if check_only:
        return
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise _invalid(
            f"{option} {path}: không ghi được tệp ({exc.strerror})",
            f"{option} {path}: cannot write the file ({exc.strerror})",
            path,
            code="output.unwritable",
        ) from exc
