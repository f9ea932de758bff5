"""The block reader: fast path, line-by-line fallback, line numbers across blocks."""

from __future__ import annotations

import io
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loader import formats as fmt
from loader.reader import duplicated, iter_blocks, line_texts, read_table


def opener(data: bytes) -> partial[io.BytesIO]:
    return partial(io.BytesIO, data)


def ratings_csv(n: int) -> list[bytes]:
    return [b"userId,movieId,rating,timestamp"] + [
        f"{1 + i // 50},{1 + i % 50},{1 + i % 9 * 0.5:.1f},{900000000 + i}".encode()
        for i in range(n)]


def test_iter_blocks_cuts_at_newlines_and_numbers_lines() -> None:
    data = b"".join(f"line{i}\n".encode() for i in range(1, 101)) + b"tail"
    blocks = list(iter_blocks(io.BytesIO(data), 37, 1))
    assert b"".join(b for _, b in blocks) == data
    for start, block in blocks:
        assert block.endswith(b"\n") or block == b"tail"
        assert block.split(b"\n")[0] == (f"line{start}".encode() if start <= 100 else b"tail")
    assert list(iter_blocks(io.BytesIO(b""), 10, 1)) == []
    assert list(iter_blocks(io.BytesIO(b"a\nb"), None, 5)) == [(5, b"a\nb")]


@pytest.mark.parametrize("block_bytes", [64, 1000, 1 << 20])
def test_bad_lines_in_later_blocks_keep_exact_line_numbers(block_bytes: int) -> None:
    lines = ratings_csv(3000)
    lines[1234 - 1] = b"25,9,4.0,notatime"        # syntax error -> slow path for that block
    lines[2500 - 1] = b"50,3,7.5,900000000"       # value error -> vectorised check
    lines[2999 - 1] = lines[10 - 1]               # duplicate of line 10
    spec = fmt.ratings_spec("csv")

    def checks(f: pd.DataFrame) -> list[tuple[np.ndarray, str, str]]:
        r = f["rating"].to_numpy()
        return [((r < 0.5) | (r > 5), "rating outside the scale", "0.5..5")]

    table = read_table(opener(b"\n".join(lines) + b"\n"), spec, checks=checks,
                       unique=("userId", "movieId"), dup_problem="dup",
                       block_bytes=block_bytes)
    assert [(r.line, r.problem) for r in table.rejects] == [
        (1234, "timestamp not an integer"), (2500, "rating outside the scale"), (2999, "dup")]
    assert table.rejects[2].text == lines[9].decode()
    assert len(table.frame) == 2997 and table.seen == 3000
    assert table.frame["timestamp"].iloc[-1] == 900000000 + 2999


def test_quoted_newline_in_csv_text_and_following_line_numbers() -> None:
    data = (b'userId,movieId,tag,timestamp\n1,2,"two\nlines",5\n1,3,ok,6\n'
            b"1,4,bad,x\n1,5,,7\n")
    table = read_table(opener(data), fmt.tags_spec("csv"))
    assert table.frame["tag"].tolist() == ["two\nlines", "ok", ""]
    assert [(r.line, r.problem, r.text) for r in table.rejects] == [
        (5, "timestamp not an integer", "1,4,bad,x")]


def test_dat_absorbs_extra_separators_into_text() -> None:
    data = b"1::Title: Part::Two (1990)::Drama\n2::Plain (1991)::Comedy\n"
    table = read_table(opener(data), fmt.movies_spec("dat"))
    assert table.frame["title"].tolist() == ["Title: Part::Two (1990)", "Plain (1991)"]
    assert table.rejects == []


def test_dat_encoding_auto_detects_latin1() -> None:
    utf8 = read_table(opener("1::Café (1990)::Drama\n".encode()), fmt.movies_spec("dat"))
    latin = read_table(opener("1::Café (1990)::Drama\n".encode("latin-1")),
                       fmt.movies_spec("dat"))
    assert utf8.frame["title"][0] == latin.frame["title"][0] == "Café (1990)"


def test_optional_ints_and_strictness() -> None:
    data = b"movieId,imdbId,tmdbId\n1,0114709,862\n2,0113497,\n3,1e3,1\n4,True,1\n5,7.0,1\n"
    table = read_table(opener(data), fmt.LINKS_SPEC)
    assert table.frame["imdbId"].tolist() == [114709, 113497, 7]
    assert table.frame["tmdbId"].tolist()[1] is pd.NA
    assert [(r.line, r.problem) for r in table.rejects] == [
        (4, "non-numeric imdbId"), (5, "non-numeric imdbId")]


def test_line_texts_finds_lines_across_blocks() -> None:
    data = b"".join(f"row {i}\n".encode() for i in range(1, 1001))
    got = line_texts(opener(data), "utf-8", {1, 500, 1000, 2000}, 50)
    assert got == {1: "row 1", 500: "row 500", 1000: "row 1000"}


@pytest.mark.parametrize("keys", [
    [(1, 1), (1, 2), (2, 1)],                       # sorted, no dups
    [(2, 1), (1, 2), (1, 1)],                       # unsorted, no dups
    [(1, 1), (1, 2), (1, 1), (3, 3), (1, 2), (1, 1)],  # dups, first kept
])
def test_duplicated_matches_pandas(keys: list[tuple[int, int]]) -> None:
    frame = pd.DataFrame(keys, columns=["userId", "movieId"], dtype="int64")
    expected = frame.duplicated(keep="first").to_numpy()
    assert (duplicated(frame, ("userId", "movieId")) == expected).all()
    assert (duplicated(frame, ("userId",)) == frame.duplicated(["userId"]).to_numpy()).all()


def test_big_numbers_do_not_overflow(tmp_path: Path) -> None:
    data = b"userId,movieId,rating,timestamp\n1,2,4.0,99999999999999999999999\n"
    table = read_table(opener(data), fmt.ratings_spec("csv"))
    assert [r.problem for r in table.rejects] == ["timestamp not an integer"]
