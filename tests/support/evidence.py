"""Small real files of each kind a reporter might send, each carrying a random marker so a test can look for
its bytes anywhere on disk."""

from __future__ import annotations

import os
import struct
import zlib


def marker() -> bytes:
    """Random bytes no other file holds."""
    return os.urandom(24).hex().encode("ascii")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(mark: bytes | None = None, *, width: int = 4, height: int = 3) -> bytes:
    """A valid PNG (grey pixels) with the marker in a text chunk."""
    raw = b"".join(b"\x00" + bytes([120] * width) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + _chunk(b"tEXt", b"Comment\x00" + (mark or marker())) + _chunk(b"IDAT", zlib.compress(raw))
            + _chunk(b"IEND", b""))


def jpeg(mark: bytes | None = None) -> bytes:
    """The start of a JPEG (JFIF) with the marker in a comment segment."""
    comment = mark or marker()
    return (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + b"\xff\xd9")


def gif(mark: bytes | None = None) -> bytes:
    """A 1x1 GIF with the marker in a comment extension."""
    comment = (mark or marker())[:255]
    return (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
            + b"\x21\xfe" + bytes([len(comment)]) + comment + b"\x00"
            + b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b")


def webp(mark: bytes | None = None) -> bytes:
    """A RIFF/WEBP container holding the marker."""
    body = b"WEBP" + b"VP8L" + struct.pack("<I", len(mark or b"x")) + (mark or marker())
    return b"RIFF" + struct.pack("<I", len(body)) + body


def heic(mark: bytes | None = None) -> bytes:
    """An ISO media file whose brand says HEIC, as an iPhone photo starts."""
    ftyp = b"ftyp" + b"heic" + b"\x00\x00\x00\x00" + b"mif1heic"
    return struct.pack(">I", len(ftyp) + 4) + ftyp + b"\x00\x00\x00\x10mdat" + (mark or marker())


def pdf(mark: bytes | None = None) -> bytes:
    """A one-page PDF with the marker in a comment."""
    return (b"%PDF-1.4\n%" + (mark or marker()) + b"\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
            b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n"
            b"trailer << /Root 1 0 R >>\n%%EOF\n")


def exe(mark: bytes | None = None) -> bytes:
    """A Windows program (MZ header): not something a lead should open, whatever it is named."""
    return b"MZ\x90\x00\x03\x00\x00\x00" + (mark or marker()) + b"\x00" * 64


def html(mark: bytes | None = None) -> bytes:
    """A web page pretending to be a picture."""
    return b"<!doctype html><html><body><script>alert(1)</script>" + (mark or marker()) + b"</body></html>"
