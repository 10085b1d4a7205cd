"""Draw the ThinkFirst Teams icons (color.png 192x192, outline.png 32x32) with the standard library only.

Run `python manifest/make_icons.py` to rewrite both PNGs next to this file. The design: a white speech bubble with
a tick, on a calm teal square (colour icon) or alone in white on transparent (outline icon, tick cut out).
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent

TEAL = (14, 124, 123)  # #0E7C7B, also the manifest's accentColor
WHITE = (255, 255, 255)
SUPERSAMPLE = 4  # samples per pixel edge; 16 samples give smooth edges without any imaging library

Shape = Callable[[float, float], bool]
Pixel = tuple[int, int, int, int]


def png_bytes(width: int, height: int, rows: list[list[Pixel]]) -> bytes:
    """Encode RGBA rows as a PNG file (8-bit, colour type 6, no interlace)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = bytearray()
    for row in rows:
        raw.append(0)  # filter type 0 (none) on every scanline
        for r, g, b, a in row:
            raw += bytes((r, g, b, a))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + chunk(b"IEND", b"")
    )


def rounded_rect(x0: float, y0: float, x1: float, y1: float, radius: float) -> Shape:
    """A filled rectangle with rounded corners, in unit-square coordinates."""

    def inside(x: float, y: float) -> bool:
        cx = min(max(x, x0 + radius), x1 - radius)
        cy = min(max(y, y0 + radius), y1 - radius)
        return x0 <= x <= x1 and y0 <= y <= y1 and (x - cx) ** 2 + (y - cy) ** 2 <= radius**2

    return inside


def triangle(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> Shape:
    """A filled triangle, in unit-square coordinates."""

    def side(p: tuple[float, float], q: tuple[float, float], x: float, y: float) -> float:
        return (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0])

    def inside(x: float, y: float) -> bool:
        d1, d2, d3 = side(a, b, x, y), side(b, c, x, y), side(c, a, x, y)
        has_neg = d1 < 0 or d2 < 0 or d3 < 0
        has_pos = d1 > 0 or d2 > 0 or d3 > 0
        return not (has_neg and has_pos)

    return inside


def thick_polyline(points: list[tuple[float, float]], width: float) -> Shape:
    """A polyline stroked with round caps and joins, in unit-square coordinates."""
    half = width / 2

    def distance(px: float, py: float, a: tuple[float, float], b: tuple[float, float]) -> float:
        ax, ay = a
        bx, by = b
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
        return math.hypot(px - (ax + t * dx), py - (ay + t * dy))

    def inside(x: float, y: float) -> bool:
        return any(distance(x, y, points[i], points[i + 1]) <= half for i in range(len(points) - 1))

    return inside


def union(*shapes: Shape) -> Shape:
    """Points inside any of the shapes."""
    return lambda x, y: any(shape(x, y) for shape in shapes)


# The speech bubble and tick, shared by both icons so they read as the same mark.
BUBBLE = union(
    rounded_rect(0.20, 0.24, 0.80, 0.68, 0.10),
    triangle((0.30, 0.62), (0.46, 0.62), (0.28, 0.80)),
)
TICK = thick_polyline([(0.36, 0.46), (0.46, 0.56), (0.65, 0.36)], 0.075)


def render(size: int, paint: Callable[[float, float], Pixel]) -> list[list[Pixel]]:
    """Supersample paint(x, y) over a size x size grid; colours are averaged with premultiplied alpha."""
    rows: list[list[Pixel]] = []
    n = SUPERSAMPLE
    for py in range(size):
        row: list[Pixel] = []
        for px in range(size):
            r = g = b = a = 0.0
            for sy in range(n):
                for sx in range(n):
                    x = (px + (sx + 0.5) / n) / size
                    y = (py + (sy + 0.5) / n) / size
                    cr, cg, cb, ca = paint(x, y)
                    r, g, b, a = r + cr * ca, g + cg * ca, b + cb * ca, a + ca
            count = n * n
            if a == 0:
                row.append((0, 0, 0, 0))
            else:
                row.append((round(r / a), round(g / a), round(b / a), round(a / count)))
        rows.append(row)
    return rows


def paint_color(x: float, y: float) -> Pixel:
    """Colour icon: full teal background, white bubble, teal tick."""
    if TICK(x, y):
        return (*TEAL, 255)
    if BUBBLE(x, y):
        return (*WHITE, 255)
    return (*TEAL, 255)


def paint_outline(x: float, y: float) -> Pixel:
    """Outline icon: white bubble on transparent, tick cut out so it shows the background."""
    # Scale the mark up a little: at 32 px the shared layout leaves too much empty margin.
    sx, sy = 0.5 + (x - 0.5) * 0.8, 0.52 + (y - 0.5) * 0.8
    if BUBBLE(sx, sy) and not TICK(sx, sy):
        return (*WHITE, 255)
    return (*WHITE, 0)


def write_icons(folder: Path = HERE) -> tuple[Path, Path]:
    """Write color.png and outline.png into folder and return their paths."""
    color = folder / "color.png"
    outline = folder / "outline.png"
    color.write_bytes(png_bytes(192, 192, render(192, paint_color)))
    outline.write_bytes(png_bytes(32, 32, render(32, paint_outline)))
    return color, outline


if __name__ == "__main__":
    for path in write_icons():
        print(f"wrote {path}")
