"""Read one delimited MovieLens member into a typed DataFrame; bad lines become Rejects.

Speed comes from pandas' C parser with explicit dtypes, run block by block (blocks of
whole lines, :data:`BLOCK_BYTES` each) for the big ratings files. ``::`` files are
read by turning ``::`` into a tab inside the block first (the Python-engine
``sep="::"`` is ~10x slower). Only a block on which the fast parse fails (wrong field
count, non-numeric text, bad UTF-8, blank line, ...) is re-read line by line in Python
to find exactly which lines are bad. Value checks (scale, unknown ids) and duplicate
detection are vectorised; line numbers and raw text are looked up only for the rows
they reject.
"""

from __future__ import annotations

import bisect
import csv
import io
import logging
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Final

import numpy as np
import pandas as pd

from loader.dataset import Reject
from loader.encoding import is_utf8, skip_bom
from loader.formats import Col, TableSpec

log = logging.getLogger(__name__)

#: Bytes per parsed block of a streamed (``blocked``) member.
BLOCK_BYTES: Final = 32 << 20

#: (rows that fail, problem, expected form) as returned by a checker, in priority order.
Check = tuple[np.ndarray, str, str]
Checker = Callable[[pd.DataFrame], Sequence[Check]]
Opener = Callable[[], IO[bytes]]

_DTYPES: Final = {
    "int": "int64", "optint": "Int64", "float": "float64", "str": "str", "optstr": "str"
}
_NUMERIC_BYTES: Final = b"0123456789.+-:,|\t\r\n "
_INT_RE: Final = re.compile(r"\s*[+-]?\d+(?:\.0*)?\s*")
_FLOAT_RE: Final = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
_INT64_MAX: Final = 2**63 - 1
_BAD: Final = object()


@dataclass
class Table:
    """A parsed member: typed rows that passed, rejects sorted by line, records seen."""

    frame: pd.DataFrame
    rejects: list[Reject]
    seen: int


def read_table(
    open_member: Opener,
    spec: TableSpec,
    *,
    checks: Checker | None = None,
    unique: tuple[str, ...] = (),
    dup_problem: str = "duplicate row",
    block_bytes: int = BLOCK_BYTES,
) -> Table:
    """Parse ``spec.member`` (opened by ``open_member``) and validate it.

    ``checks(frame)`` flags bad rows of each parsed block; ``unique`` names columns
    whose combination must be unique over the file (later duplicates are rejected,
    the first occurrence is kept).
    """
    rejects: list[Reject] = []
    pending: list[tuple[int, str, str]] = []  # (line, problem, expected); text looked up later
    frames: list[pd.DataFrame] = []
    segments = _Segments()
    seen = 0
    with open_member() as raw_fh:
        fh: IO[bytes] = raw_fh
        if skip_bom(fh):
            log.info("%s: dropped the UTF-8 byte order mark", spec.member)
        encoding: str = spec.encoding
        if encoding == "auto":
            data = fh.read()
            encoding = "utf-8" if is_utf8(data) else "latin-1"
            log.info("%s: decoded as %s (%s)", spec.member, encoding,
                     "valid UTF-8" if encoding == "utf-8" else "not valid UTF-8")
            fh = io.BytesIO(data)
        first = 1
        if spec.header:
            first = 2
            header = _check_header(fh.readline(), spec)
            if header is not None:
                rejects.append(header)
        size = block_bytes if spec.blocked else None
        for start, block in iter_blocks(fh, size, first):
            frame, lines, bad = _parse_block(block, start, spec, encoding)
            rejects.extend(bad)
            seen += len(frame) + len(bad)
            if checks is not None and len(frame):
                frame, lines = _apply_checks(frame, lines, start, checks(frame), pending)
            segments.add(len(frame), start, lines)
            frames.append(frame)
    frame = _concat(frames, spec.cols)
    del frames
    if unique and len(frame):
        dup = duplicated(frame, unique)
        if dup.any():
            expected = f"each ({', '.join(unique)}) once; the first occurrence is kept"
            rows = np.flatnonzero(dup)
            pending.extend((int(ln), dup_problem, expected) for ln in segments.lines(rows))
            frame = frame[~dup].reset_index(drop=True)
    if pending:
        texts = line_texts(open_member, encoding, {ln for ln, _, _ in pending}, block_bytes)
        rejects.extend(Reject(spec.member, ln, texts.get(ln, ""), p, e) for ln, p, e in pending)
    rejects.sort(key=lambda r: r.line)
    return Table(frame, rejects, seen)


def iter_blocks(fh: IO[bytes], size: int | None, first_line: int) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line number of the block's first line, block)``; blocks end at a newline.

    ``size=None`` yields the whole rest of the stream as one block.
    """
    line = first_line
    if size is None:
        data = fh.read()
        if data:
            yield line, data
        return
    rest = b""
    while chunk := fh.read(size):
        data = rest + chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            rest = data
            continue
        block, rest = data[:cut], data[cut:]
        yield line, block
        line += block.count(b"\n")
    if rest:
        yield line, rest


def line_texts(open_member: Opener, encoding: str, wanted: set[int], block_bytes: int
               ) -> dict[int, str]:
    """Raw text (decoded, without line ending) of the physical lines ``wanted``."""
    todo = sorted(wanted)
    out: dict[int, str] = {}
    with open_member() as fh:
        skip_bom(fh)
        for start, block in iter_blocks(fh, block_bytes, 1):
            end = start + _count_lines(block)
            lo, hi = bisect.bisect_left(todo, start), bisect.bisect_left(todo, end)
            if lo == hi:
                continue
            parts = block.split(b"\n")
            for ln in todo[lo:hi]:
                out[ln] = _decode(parts[ln - start], encoding)
            if hi == len(todo):
                break
    return out


def duplicated(frame: pd.DataFrame, cols: tuple[str, ...]) -> np.ndarray:
    """Boolean mask of rows repeating an earlier row's ``cols`` values (first one kept).

    Sort-based, with shortcuts for the common cases: already strictly increasing keys
    (MovieLens csv files are sorted by user, then movie) and no duplicates at all.
    """
    key = _key(frame, cols)
    if key is None:
        return frame.duplicated(subset=list(cols), keep="first").to_numpy()
    dup = np.zeros(len(key), dtype=bool)
    if len(key) < 2 or bool(np.all(key[1:] > key[:-1])):
        return dup
    ordered = np.sort(key)
    if not bool(np.any(ordered[1:] == ordered[:-1])):
        return dup
    order = np.argsort(key, kind="stable")  # equal keys keep file order
    ordered = key[order]
    dup[order[1:][ordered[1:] == ordered[:-1]]] = True
    return dup


def _key(frame: pd.DataFrame, cols: tuple[str, ...]) -> np.ndarray | None:
    """One int64 per row encoding the ``cols`` (non-negative ids < 2**31), else ``None``."""
    arrays = [frame[c].to_numpy() for c in cols]
    if len(arrays) > 2 or any(a.dtype != np.int64 for a in arrays):
        return None
    if len(arrays[0]) and any(a.min() < 0 or a.max() >= 2**31 for a in arrays):
        return None
    return arrays[0].copy() if len(arrays) == 1 else (arrays[0] << 31) | arrays[1]


def _concat(frames: list[pd.DataFrame], cols: Sequence[Col]) -> pd.DataFrame:
    """Concatenate block frames column by column (one copy, no block consolidation)."""
    if not frames:
        return _frame(cols, [])
    if len(frames) == 1:
        return frames[0]
    out: dict[str, pd.Series] = {}
    for c in cols:
        if c.kind in ("int", "float"):
            out[c.name] = pd.Series(np.concatenate([f[c.name].to_numpy() for f in frames]),
                                    copy=False)
        else:
            out[c.name] = pd.concat([f[c.name] for f in frames], ignore_index=True)
    return pd.DataFrame(out, copy=False)


class _Segments:
    """Maps a row of the concatenated frame back to its physical line."""

    def __init__(self) -> None:
        self.offsets: list[int] = [0]
        self.parts: list[tuple[int, np.ndarray | None]] = []

    def add(self, rows: int, first_line: int, lines: np.ndarray | None) -> None:
        self.parts.append((first_line, lines))
        self.offsets.append(self.offsets[-1] + rows)

    def lines(self, rows: np.ndarray) -> np.ndarray:
        seg = np.searchsorted(np.asarray(self.offsets), rows, side="right") - 1
        out = np.empty(len(rows), dtype=np.int64)
        for i, (row, s) in enumerate(zip(rows.tolist(), seg.tolist(), strict=True)):
            first_line, lines = self.parts[s]
            local = row - self.offsets[s]
            out[i] = first_line + local if lines is None else lines[local]
        return out


def _apply_checks(
    frame: pd.DataFrame,
    lines: np.ndarray | None,
    start: int,
    found: Sequence[Check],
    pending: list[tuple[int, str, str]],
) -> tuple[pd.DataFrame, np.ndarray | None]:
    keep = np.ones(len(frame), dtype=bool)
    for mask, problem, expected in found:
        hit = np.asarray(mask, dtype=bool) & keep
        if hit.any():
            rows = np.flatnonzero(hit)
            bad_lines = lines[rows] if lines is not None else start + rows
            pending.extend((int(ln), problem, expected) for ln in bad_lines)
            keep &= ~hit
    if keep.all():
        return frame, lines
    kept = np.flatnonzero(keep)
    new_lines = lines[kept] if lines is not None else start + kept
    return frame.iloc[kept].reset_index(drop=True), new_lines


def _check_header(raw: bytes, spec: TableSpec) -> Reject | None:
    text = raw.decode("utf-8-sig", errors="backslashreplace").rstrip("\r\n")
    fields = [f.strip() for f in next(csv.reader([text]), [])]
    if not raw or fields == spec.names:
        return None
    return Reject(spec.member, 1, text, "unexpected header", f"the header {','.join(spec.names)}")


def _count_lines(block: bytes) -> int:
    return block.count(b"\n") + (0 if not block or block.endswith(b"\n") else 1)


def _decode(raw: bytes, encoding: str) -> str:
    raw = raw[:-1] if raw.endswith(b"\r") else raw
    return raw.decode(encoding, errors="backslashreplace")


def _parse_block(
    block: bytes, start: int, spec: TableSpec, encoding: str
) -> tuple[pd.DataFrame, np.ndarray | None, list[Reject]]:
    """Fast C-parser read of a block, or the line-by-line fallback if it fails."""
    frame = _fast(block, spec, encoding)
    if frame is not None:
        return frame, None, []
    log.debug("%s: re-reading the block at line %d line by line", spec.member, start)
    return _slow(block, start, spec, encoding)


def _fast(block: bytes, spec: TableSpec, encoding: str) -> pd.DataFrame | None:
    n_lines = _count_lines(block)
    numeric = all(c.kind in ("int", "optint", "float") for c in spec.cols)
    if numeric and block.translate(None, _NUMERIC_BYTES):
        return None  # letters etc. in a numeric file: let the strict parser name the line
    data, sep = (block.replace(b"::", b"\t"), "\t") if spec.sep == "::" else (block, spec.sep)
    # "" is NA only in optint columns (a missing id) and text columns, where pandas would
    # also write "" for the fields missing from a short line: such blocks go the slow way.
    na = {i: [""] for i, c in enumerate(spec.cols) if c.kind in ("optint", "str")}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_csv(
                io.BytesIO(data),
                sep=sep,
                header=None,
                dtype={i: _DTYPES[c.kind] for i, c in enumerate(spec.cols)},
                engine="c",
                quoting=csv.QUOTE_MINIMAL if spec.quoted else csv.QUOTE_NONE,
                keep_default_na=False,
                na_values=na or None,
                encoding=encoding,
                skip_blank_lines=True,
            )
    except (ValueError, OverflowError, TypeError, pd.errors.ParserError, UnicodeDecodeError):
        return None
    if frame.shape != (n_lines, len(spec.cols)):
        return None  # blank lines, quoted newlines, or a wrong field count on line 1
    if numeric and data.count(sep.encode()) != n_lines * (len(spec.cols) - 1):
        return None  # a short line whose missing fields pandas filled with NA
    if any(frame[i].isna().any() for i, c in enumerate(spec.cols) if c.kind == "str"):
        return None  # an empty text field, or a short line
    frame.columns = pd.Index(spec.names)
    return frame


def _records(
    block: bytes, start: int, spec: TableSpec, encoding: str, rejects: list[Reject]
) -> Iterator[tuple[int, str, list[str]]]:
    """``(line, raw text, fields)`` per non-blank record; undecodable lines are rejected."""
    consumed: list[tuple[int, str]] = []

    def decoded() -> Iterator[str]:
        for i, raw in enumerate(block.split(b"\n")):
            raw = raw[:-1] if raw.endswith(b"\r") else raw
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                rejects.append(Reject(spec.member, start + i, _decode(raw, encoding),
                                      "bad encoding", f"{encoding.upper()} text"))
                continue
            consumed.append((start + i, text))
            yield text + "\n"  # csv keeps newlines inside quoted fields only if given them

    if spec.quoted:
        for fields in csv.reader(decoded()):
            line, text = consumed[0][0], "\n".join(t for _, t in consumed)
            consumed.clear()
            if text.strip():
                yield line, text, fields
    else:
        for _ in decoded():
            line, text = consumed.pop()
            if text.strip():
                yield line, text, text.split(spec.sep)


def _slow(
    block: bytes, start: int, spec: TableSpec, encoding: str
) -> tuple[pd.DataFrame, np.ndarray, list[Reject]]:
    """Strict line-by-line parse: every bad line becomes a Reject."""
    cols, n = spec.cols, len(spec.cols)
    absorb = spec.names.index(spec.absorb) if spec.absorb else -1
    rows: list[list[object]] = []
    lines: list[int] = []
    rejects: list[Reject] = []
    for line, text, fields in _records(block, start, spec, encoding, rejects):
        if len(fields) > n and absorb >= 0:
            extra = len(fields) - n
            joined = spec.sep.join(fields[absorb : absorb + extra + 1])
            fields = [*fields[:absorb], joined, *fields[absorb + extra + 1 :]]
        if len(fields) != n:
            rejects.append(Reject(spec.member, line, text,
                                  f"wrong field count (got {len(fields)})", spec.expected_fields))
            continue
        values = [_convert(c, f) for c, f in zip(cols, fields, strict=True)]
        bad = next((c for c, v in zip(cols, values, strict=True) if v is _BAD), None)
        if bad is not None:
            rejects.append(Reject(spec.member, line, text, bad.bad_problem, bad.bad_expected))
            continue
        rows.append(values)
        lines.append(line)
    return _frame(cols, rows), np.asarray(lines, dtype=np.int64), rejects


def _convert(col: Col, field: str) -> object:
    if col.kind in ("str", "optstr"):
        return field
    if col.kind == "optint" and not field.strip():
        return None
    if col.kind == "float":
        return float(field) if _FLOAT_RE.fullmatch(field) else _BAD
    if not _INT_RE.fullmatch(field):
        return _BAD
    value = int(field.strip().split(".")[0])
    return value if -_INT64_MAX <= value <= _INT64_MAX else _BAD


def _frame(cols: Sequence[Col], rows: list[list[object]]) -> pd.DataFrame:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in cols]
    return pd.DataFrame(
        {c.name: pd.array(list(v), dtype=_DTYPES[c.kind]) for c, v in zip(cols, columns,
                                                                             strict=True)}
    )
