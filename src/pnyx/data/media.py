"""Per-file media facts read from headers with the standard library: image size, audio rate and
duration, video size and frames. Pure functions of the file's bytes.

Images: PNG (IHDR), JPEG (the first SOFn marker) and GIF (logical screen). Audio: WAV (PCM, via
:mod:`wave`). Video: YUV4MPEG2 (``.y4m``, uncompressed; frames counted from ``FRAME`` headers).
Compressed video containers (MP4, WebM) are not parsed: no offline parser ships here.
"""

from __future__ import annotations

import io
import struct
import wave
from typing import Any

from pnyx.errors import InvalidInputError

_PNG = b"\x89PNG\r\n\x1a\n"
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_info(data: bytes, name: str = "image") -> dict[str, Any]:
    """``{"format", "width", "height"}`` from a PNG, JPEG or GIF header."""
    if data.startswith(_PNG) and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return {"format": "png", "width": width, "height": height}
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return {"format": "gif", "width": width, "height": height}
    if data.startswith(b"\xff\xd8"):
        return {"format": "jpeg", **_jpeg_size(data, name)}
    raise InvalidInputError(f"{name}: not a PNG, JPEG or GIF image")


def _jpeg_size(data: bytes, name: str) -> dict[str, int]:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            break
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in _SOF and i + 9 <= len(data):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return {"width": width, "height": height}
        i += 2 + length
    raise InvalidInputError(f"{name}: JPEG without a readable frame header (SOF)")


def audio_info(data: bytes, name: str = "audio") -> dict[str, Any]:
    """``{"format", "sample_rate_hz", "channels", "frames", "duration_ms"}`` of a WAV file."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            rate, channels, frames = w.getframerate(), w.getnchannels(), w.getnframes()
    except (wave.Error, EOFError, struct.error) as e:
        raise InvalidInputError(f"{name}: not a PCM WAV file: {e}") from e
    if rate <= 0:
        raise InvalidInputError(f"{name}: WAV sample rate is {rate}")
    return {
        "format": "wav",
        "sample_rate_hz": rate,
        "channels": channels,
        "frames": frames,
        "duration_ms": frames * 1000 // rate,
    }


def video_info(data: bytes, name: str = "video") -> dict[str, Any]:
    """``{"format", "width", "height", "fps", "frames", "duration_ms"}`` of a Y4M stream."""
    header, sep, _ = data.partition(b"\n")
    if not sep or not header.startswith(b"YUV4MPEG2 "):
        raise InvalidInputError(f"{name}: not a YUV4MPEG2 (.y4m) video")
    fields = {p[:1]: p[1:] for p in header.split(b" ")[1:] if p}
    try:
        width, height = int(fields[b"W"]), int(fields[b"H"])
        num, den = (int(x) for x in fields.get(b"F", b"25:1").split(b":"))
    except (KeyError, ValueError) as e:
        raise InvalidInputError(f"{name}: Y4M header lacks W, H or F: {header!r}") from e
    frames = _y4m_frames(data, len(header) + 1, _y4m_frame_bytes(width, height, fields), name)
    duration_ms = frames * 1000 * den // num if num > 0 and den > 0 else 0
    return {
        "format": "y4m",
        "width": width,
        "height": height,
        "fps": f"{num}:{den}",
        "frames": frames,
        "duration_ms": duration_ms,
    }


def _y4m_frame_bytes(width: int, height: int, fields: dict[bytes, bytes]) -> int:
    colour = fields.get(b"C", b"420jpeg")
    chroma_w, chroma_h = (width + 1) // 2, (height + 1) // 2
    if colour.startswith(b"mono"):
        return width * height
    if colour.startswith(b"444"):
        return width * height * 3
    if colour.startswith(b"422"):
        return width * height + 2 * chroma_w * height
    return width * height + 2 * chroma_w * chroma_h  # 4:2:0 variants


def _y4m_frames(data: bytes, pos: int, frame_bytes: int, name: str) -> int:
    frames = 0
    while pos < len(data):
        if not data.startswith(b"FRAME", pos):
            raise InvalidInputError(f"{name}: Y4M frame {frames} has no FRAME header")
        end = data.find(b"\n", pos)
        if end < 0 or end + 1 + frame_bytes > len(data):
            raise InvalidInputError(f"{name}: Y4M frame {frames} is truncated")
        pos = end + 1 + frame_bytes
        frames += 1
    return frames
