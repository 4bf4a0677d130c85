"""PDFs a sender's program could make, that Vanthu must refuse or accept: active content
(JavaScript, a launch action, an embedded program), a password to open, a file cut short.

Made with pikepdf (qpdf), a library Vanthu itself does not use to read them, so the test does not
grade the reader with its own writer.
"""

from __future__ import annotations

import io

import pikepdf
from pdf_support import text_pdf

PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 56 + b"This program cannot be run in DOS mode"


def plain_pdf(text: bytes = b"CONG VAN ve viec thu nghiem") -> bytes:
    return text_pdf([[(80, 600, text)]])


def _edited(change: object) -> bytes:
    with pikepdf.open(io.BytesIO(plain_pdf())) as pdf:
        change(pdf)  # type: ignore[operator]
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def with_javascript() -> bytes:
    """app.alert when the document opens (/OpenAction)."""

    def change(pdf: pikepdf.Pdf) -> None:
        pdf.Root.OpenAction = pdf.make_indirect(
            pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('x');"))
        )

    return _edited(change)


def with_launch_action() -> bytes:
    """A link on page 1 that starts a program (/Launch)."""

    def change(pdf: pikepdf.Pdf) -> None:
        action = pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe"))
        link = pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Link,
            Rect=[80, 580, 300, 620],
            A=action,
        )
        pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(link)]))

    return _edited(change)


def with_attachment(name: str, data: bytes) -> bytes:
    """``data`` embedded as a file named ``name`` (the document's attachments)."""

    def change(pdf: pikepdf.Pdf) -> None:
        pdf.attachments[name] = pikepdf.AttachedFileSpec(pdf, data, filename=name)

    return _edited(change)


def password_protected() -> bytes:
    """Encrypted with a password needed to open it (AES-256)."""
    with pikepdf.open(io.BytesIO(plain_pdf())) as pdf:
        out = io.BytesIO()
        pdf.save(out, encryption=pikepdf.Encryption(user="mat-khau", owner="chu-so-huu"))
        return out.getvalue()


def owner_password_only() -> bytes:
    """Encrypted, but opened by anyone (only editing is restricted)."""
    with pikepdf.open(io.BytesIO(plain_pdf())) as pdf:
        out = io.BytesIO()
        pdf.save(out, encryption=pikepdf.Encryption(user="", owner="chu-so-huu"))
        return out.getvalue()


def truncated() -> bytes:
    """The first two thirds of a PDF: the transfer was cut off."""
    whole = plain_pdf()
    return whole[: len(whole) * 2 // 3]


def damaged_javascript() -> bytes:
    """The JavaScript action's object damaged (its dictionary never closes), as a viewer that
    repairs files might still read it."""
    pdf = bytearray(with_javascript())
    start = pdf.index(b"/JavaScript")
    end = pdf.index(b">>", start)
    pdf[end : end + 2] = b"]]"
    return bytes(pdf)
