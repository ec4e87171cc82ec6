"""Walking a JPEG's markers without decoding it: how many scans it has.

A progressive JPEG is decoded scan by scan, and each scan walks every block of the image, so
the decoding cost is (scans x pixels). libjpeg only warns about redundant scans, so a 30 KB
file that repeats one scan 1,500 times costs seconds of CPU. Real encoders write one scan
(baseline) or about ten (libjpeg's progressive script; mozjpeg's are similar), so a JPEG with
more than MAX_SCANS is refused before any pixel is decoded.

The walk is bounded too: segment headers are read one by one (at most MAX_SEGMENTS of them),
and the entropy-coded data after each scan header is skipped with one regular-expression
search in C, never byte by byte in Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SCANS = 24  # twice libjpeg's progressive script (10 for colour, 6 for grey)
MAX_SEGMENTS = 256  # headers, tables and scans together; real files have a few dozen

_SOI = b"\xff\xd8"
_SOS, _EOI = 0xDA, 0xD9
# A marker: 0xFF (any number of fill bytes 0xFF before it) and a code that is not 0x00
# (stuffing inside entropy-coded data) and not RST0..7 (restart markers inside a scan).
_MARKER = re.compile(rb"\xff+([^\x00\xff])")
_NEXT_MARKER_AFTER_SCAN = re.compile(rb"\xff+[^\x00\xd0-\xd7\xff]")


@dataclass(frozen=True)
class JpegStructure:
    scans: int
    segments: int
    complete: bool  # False when the walk stopped early (too many, or malformed)


def walk_jpeg(data: bytes, max_scans: int = MAX_SCANS,
              max_segments: int = MAX_SEGMENTS) -> JpegStructure:
    """Count the scans (SOS segments) of JPEG ``data``, stopping as soon as a limit is passed.

    Malformed structure is not judged here: the decoder reports it.
    """
    scans = segments = 0
    if not data.startswith(_SOI):
        return JpegStructure(0, 0, False)
    position = len(_SOI)
    while True:
        # search, not match: like libjpeg, skip any bytes that are not a marker (libjpeg only
        # warns about "extraneous bytes before marker"), or garbage between scans would hide
        # them from the count.
        match = _MARKER.search(data, position)
        if match is None:
            return JpegStructure(scans, segments, False)
        code = match[1][0]
        position = match.end()
        if code == _EOI:
            return JpegStructure(scans, segments, True)
        if 0xD0 <= code <= 0xD7 or code == 0x01:  # markers without a length
            continue
        if position + 2 > len(data):
            return JpegStructure(scans, segments, False)
        segments += 1
        if segments > max_segments:
            return JpegStructure(scans, segments, False)
        position += int.from_bytes(data[position:position + 2], "big")
        if code == _SOS:
            scans += 1
            if scans > max_scans:
                return JpegStructure(scans, segments, False)
            after_scan = _NEXT_MARKER_AFTER_SCAN.search(data, position)
            if after_scan is None:
                return JpegStructure(scans, segments, False)
            position = after_scan.start()
