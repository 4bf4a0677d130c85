"""asn1crypto 1.5's ``dump()`` without its false "indefinite length" alarm.

Before returning the bytes it parsed, every ``dump()`` of asn1crypto 1.5 asks whether the
value was encoded with an indefinite length (BER), and if so encodes it again, children
included, to give DER. It asks by looking at the header's last byte: ``0x80``. That byte is
also the last byte of every definite length whose low byte is 0x80 (128, 384, 1152 bytes…),
so such a value is encoded again on every call. A certificate of 1152 bytes (the DEMO
personal CA's) costs ~1 ms per ``dump()`` instead of ~2 µs, and validation dumps each carried
certificate many times (identifiers of validation objects, issuer matching, our own chain
check): ~10% of a validation.

Here the header is read as what it is — the explicit tags' headers, then the value's own — and
only an indefinite last length (the single byte 0x80 after a tag) forces the re-encoding; a
header that cannot be read that way keeps asn1crypto's test. Everything else is asn1crypto's
code as it is. For a DER value the bytes are the same either way (DER encoded again is
itself); a BER value with a definite length keeps the bytes it came with, as it already does
for every other length.
"""

from __future__ import annotations

from typing import Any

from asn1crypto import core
from asn1crypto.parser import _dump_header


def ends_indefinite(header: bytes | None) -> bool:
    """Whether the last length in ``header`` is the indefinite form (asn1crypto's question)."""
    if header is None:
        return False
    at, size, last = 0, len(header), False
    while at < size:
        if header[at] & 0x1F == 0x1F:  # a tag number in more octets: up to one below 0x80
            at += 1
            while at < size and header[at] & 0x80:
                at += 1
        at += 1
        if at >= size:
            return header[-1:] == b"\x80"  # not a header chain: as asn1crypto decides
        length = header[at]
        at += 1
        last = length == 0x80
        if length > 0x80:
            at += length & 0x7F
    if at != size:
        return header[-1:] == b"\x80"
    return last


def value_dump(self: Any, force: bool = False) -> bytes:
    """``Asn1Value.dump``."""
    contents = self.contents
    if ends_indefinite(self._header):
        force = True
    if self._header is None or force:
        if isinstance(self, core.Constructable) and self._indefinite:
            self.method = 0
        header = _dump_header(self.class_, self.method, self.tag, self.contents)
        if self.explicit is not None:
            for class_, tag in self.explicit:
                header = _dump_header(class_, 1, tag, header + self.contents) + header
        self._header = header
        self._trailer = b""
    result: bytes = self._header + contents + self._trailer
    return result


def choice_dump(self: Any, force: bool = False) -> bytes:
    """``Choice.dump``."""
    if ends_indefinite(self._header):
        force = True
    self._contents = self.chosen.dump(force=force)
    if self._header is None or force:
        self._header = b""
        if self.explicit is not None:
            for class_, tag in self.explicit:
                outer = _dump_header(class_, 1, tag, self._header + self._contents)
                self._header = outer + self._header
    result: bytes = self._header + self._contents
    return result


def primitive_dump(self: Any, force: bool = False) -> bytes:
    """``Primitive.dump``."""
    if ends_indefinite(self._header):
        force = True
    if force:
        native = self.native
        self.contents = None
        self.set(native)
    return value_dump(self)


def sequence_dump(self: Any, force: bool = False) -> bytes:
    """``Sequence.dump``."""
    if ends_indefinite(self._header):
        force = True
    if force and self._fields == [] and self.__class__ is core.Sequence:
        force = False  # no spec to encode with
    if force:
        self._set_contents(force=force)
    if self._fields and self.children is not None:
        for index, (field_name, _, params) in enumerate(self._fields):
            if self.children[index] is not core.VOID:
                continue
            if "default" in params or "optional" in params:
                continue
            raise ValueError(f'Field "{field_name}" is missing from structure')
    return value_dump(self)


def sequence_of_dump(self: Any, force: bool = False) -> bytes:
    """``SequenceOf.dump``."""
    if ends_indefinite(self._header):
        force = True
    if force:
        self._set_contents(force=force)
    return value_dump(self)


def install() -> None:
    """Put the replacements in place (idempotent)."""
    core.Asn1Value.dump = value_dump
    core.Choice.dump = choice_dump
    core.Primitive.dump = primitive_dump
    core.Sequence.dump = sequence_dump
    core.SequenceOf.dump = sequence_of_dump
