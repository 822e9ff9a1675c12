"""A monitor's identity and size from its EDID (VESA E-EDID 1.3/1.4, the 128-byte base block).

Linux exposes each connector's EDID in /sys/class/drm (displays.py) and macOS in ioreg's
`IODisplayEDID`; Windows decodes it itself (WmiMonitorID). Only the base block is read:

| bytes | what |
|---|---|
| 0-7 | the header 00 FF FF FF FF FF FF 00 |
| 8-9 | the maker's PNP id, three 5-bit letters, big-endian ("DEL", "SAM") |
| 10-11 | the product code, little-endian |
| 12-15 | the serial number, little-endian (0: none) |
| 16, 17 | week and year of manufacture (year − 1990; week 0xFF: the year is the model's) |
| 21, 22 | the image's width and height in cm (0: unknown, or an aspect ratio in 1.4) |
| 54-125 | four 18-byte descriptors: a detailed timing (the image's size in mm at bytes 12-14), |
| | or a display descriptor (0xFC its name, 0xFF its serial string, 0xFE other text) |

A block without the header is no EDID (a connector that read noise): no monitor. The checksum
is not held against it: old monitors with a wrong one are still monitors. A display without a
name descriptor (many laptop panels) is named by its "unspecified text" ones (the panel's
part number), else by its product code.
Why no library: the PyPI ones pull in an HTTP client to look up makers' names, and the agent
needs these few fields only. The parser is checked against the GLPI Agent's expectations for
131 real monitors' EDIDs (tests/data/edid/README.md).
"""

from __future__ import annotations

import math
import re
import struct

from fleetprint.schema import Monitor

_HEADER = b"\x00\xff\xff\xff\xff\xff\xff\x00"
_BLOCK = 128
_DESCRIPTORS = (54, 72, 90, 108)
_NAME, _SERIAL, _TEXT = 0xFC, 0xFF, 0xFE
_MM_PER_IN = 25.4
# A detailed timing's size in mm agrees with the size in cm within this much when both are real
# (some EDIDs put an aspect ratio there, 16 x 9 "mm", or leave a panel's size off).
_SIZE_AGREEMENT_MM = 15.0
_MIN_DIAGONAL_MM = 100.0  # smaller is an aspect ratio or noise, not an image size


def parse_edid(edid: bytes, builtin: bool = False) -> Monitor | None:
    """The monitor an EDID describes; None when it is not a valid EDID base block."""
    block = edid[:_BLOCK]
    if len(block) < _BLOCK or block[:8] != _HEADER:
        return None
    texts: dict[int, list[str]] = {_NAME: [], _SERIAL: [], _TEXT: []}
    for offset in _DESCRIPTORS:
        descriptor = block[offset:offset + 18]
        if descriptor[0:2] == b"\x00\x00" and descriptor[3] in texts:
            texts[descriptor[3]].append(_descriptor_text(descriptor))
    # A laptop's panel often has no name but its maker's part number in "unspecified text" ones.
    name = " ".join(filter(None, texts[_NAME] or texts[_TEXT]))
    serial_text = next((text for text in texts[_SERIAL] if text.strip("0")), "")  # "0": none
    product, serial_number = struct.unpack_from("<HI", block, 10)
    year = block[17] + 1990 if block[17] else None
    return Monitor(
        maker=pnp_id(block[8:10]),
        model=name or f"{product:04X}",
        serial=serial_text or (f"{serial_number:08x}" if serial_number else ""),
        diagonal_in=_diagonal_in(block),
        year=year if year is not None and year <= 2100 else None,
        builtin=builtin,
    )


def pnp_id(two_bytes: bytes) -> str:
    """The maker's three-letter PNP id from EDID bytes 8-9 ("" when not three letters)."""
    word = int.from_bytes(two_bytes, "big")
    letters = [(word >> shift) & 0x1F for shift in (10, 5, 0)]
    if not all(1 <= letter <= 26 for letter in letters):
        return ""
    return "".join(chr(ord("A") + letter - 1) for letter in letters)


def _descriptor_text(descriptor: bytes) -> str:
    """A display descriptor's text: up to 13 characters, ended by a line feed, padded with spaces;
    its printable ASCII beginning."""
    text = descriptor[5:18].split(b"\n", 1)[0].decode("latin-1")
    printable = re.match(r"[\x20-\x7e]*", text)  # some panels put binary after the text
    return printable.group().strip() if printable else ""


def _diagonal_in(block: bytes) -> float | None:
    """The image's diagonal in inches: the first detailed timing's size in mm where it agrees with
    the size in cm (it is ten times finer), else the size in cm; None when neither is given."""
    width_cm, height_cm = block[21], block[22]
    from_cm = math.hypot(width_cm * 10, height_cm * 10) if width_cm and height_cm else None
    if from_cm is not None and from_cm < _MIN_DIAGONAL_MM:
        from_cm = None
    timing = block[54:72]
    from_mm = None
    if timing[0:2] != b"\x00\x00":
        width_mm = timing[12] | (timing[14] >> 4) << 8
        height_mm = timing[13] | (timing[14] & 0x0F) << 8
        if math.hypot(width_mm, height_mm) >= _MIN_DIAGONAL_MM:
            from_mm = math.hypot(width_mm, height_mm)
    if from_mm is not None and (from_cm is None or abs(from_mm - from_cm) <= _SIZE_AGREEMENT_MM):
        return round(from_mm / _MM_PER_IN, 1)
    return round(from_cm / _MM_PER_IN, 1) if from_cm is not None else None
