"""How MovieLens text files are encoded: UTF-8 or latin-1, and an optional UTF-8 byte order mark.

GroupLens ships ml-100k and ml-1m text in latin-1 and the CSV releases in UTF-8, but edited
copies are often re-saved as UTF-8, some with a byte order mark: the reader decodes a
file as UTF-8 when all of it is valid UTF-8 (:func:`is_utf8`), else as latin-1, and drops a
BOM at the start of any file (:func:`skip_bom`).
"""

from __future__ import annotations

from typing import IO, Final

BOM: Final = b"\xef\xbb\xbf"


def skip_bom(fh: IO[bytes]) -> bool:
    """Consume a UTF-8 byte order mark at the start of ``fh``; whether there was one."""
    peek = getattr(fh, "peek", None)
    if peek is not None:
        head = peek(len(BOM))[: len(BOM)]
    else:
        pos = fh.tell()
        head = fh.read(len(BOM))
        fh.seek(pos)
    if head != BOM:
        return False
    fh.read(len(BOM))
    return True


def is_utf8(data: bytes) -> bool:
    """Whether ``data`` decodes as UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
