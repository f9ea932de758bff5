"""Table-driven malformed-input tests: one damaged line per case, in every layout.

Each case copies a valid fixture release into ``tmp_path``, replaces one physical line,
and checks both error modes: ``fail`` raises a LoadError naming ``file:line`` and the
problem; ``skip`` drops exactly that row and reports exactly that Reject.
"""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from loader import LoadError, Reject, read_movielens

FIXTURES = Path(__file__).parents[1] / "fixtures" / "movielens"


@dataclass(frozen=True)
class Case:
    id: str
    release: str
    member: str
    line: int
    damage: bytes | Callable[[bytes], bytes]
    problem: str
    table: str | None  # the table that loses the row (None: no row count changes)


CASES = [
    # csv family (ml-latest-small layout); ratings.csv line 1 is the header
    Case("csv-too-few-fields", "ml-latest-small", "ratings.csv", 2, b"1,1,4.0",
         "wrong field count (got 3)", "ratings"),
    Case("csv-too-many-fields", "ml-latest-small", "ratings.csv", 3,
         b"1,2,3.5,881015841,extra", "wrong field count (got 5)", "ratings"),
    Case("csv-non-numeric-user", "ml-latest-small", "ratings.csv", 4, b"one,3,2.0,881023760",
         "non-numeric userId", "ratings"),
    Case("csv-non-numeric-movie", "ml-latest-small", "ratings.csv", 6, b"1,x5,3.0,881039598",
         "non-numeric movieId", "ratings"),
    Case("csv-non-positive-user", "ml-latest-small", "ratings.csv", 13, b"-3,4,4.0,883000000",
         "non-positive userId", "ratings"),
    Case("csv-rating-above-scale", "ml-latest-small", "ratings.csv", 7, b"1,6,6.0,881047517",
         "rating outside the scale", "ratings"),
    Case("csv-rating-off-step", "ml-latest-small", "ratings.csv", 8, b"2,1,3.7,882000000",
         "rating outside the scale", "ratings"),
    Case("csv-rating-not-number", "ml-latest-small", "ratings.csv", 9, b"2,3,good,882000000",
         "rating not a number", "ratings"),
    Case("csv-rating-empty", "ml-latest-small", "ratings.csv", 14, b"3,5,,883000000",
         "rating not a number", "ratings"),
    Case("csv-timestamp-date", "ml-latest-small", "ratings.csv", 11, b"2,9,4.0,2001-09-09",
         "timestamp not an integer", "ratings"),
    Case("csv-timestamp-fraction", "ml-latest-small", "ratings.csv", 12,
         b"3,2,4.0,964982703.5", "timestamp not an integer", "ratings"),
    # issue 29 item 6: a timestamp must be epoch seconds, 0 to 2^35 (engine.schema.MAX_TIMESTAMP)
    Case("csv-timestamp-microseconds", "ml-latest-small", "ratings.csv", 11,
         b"2,9,4.0,1700000000000000", "timestamp not epoch seconds", "ratings"),
    Case("csv-timestamp-milliseconds", "ml-latest-small", "ratings.csv", 11,
         b"2,9,4.0,1700000000000", "timestamp not epoch seconds", "ratings"),
    Case("csv-timestamp-negative", "ml-latest-small", "ratings.csv", 12, b"3,2,4.0,-5",
         "timestamp not epoch seconds", "ratings"),
    Case("csv-unknown-movie", "ml-latest-small", "ratings.csv", 5, b"1,99,4.0,881031679",
         "rating for an unknown movie", "ratings"),
    Case("csv-duplicate-pair", "ml-latest-small", "ratings.csv", 10, b"2,1,3.0,964982703",
         "duplicate (userId, movieId) pair", "ratings"),
    Case("csv-bad-utf8", "ml-latest-small", "tags.csv", 3, b"1,4,caf\xe9,1500003600",
         "bad encoding", "tags"),
    Case("csv-tag-unknown-movie", "ml-latest-small", "tags.csv", 4,
         b"2,99,caf\xc3\xa9 noir,1500007200", "tag for an unknown movie", "tags"),
    Case("csv-tag-timestamp", "ml-latest-small", "tags.csv", 2, b"1,1,funny,noon",
         "timestamp not an integer", "tags"),
    Case("csv-movie-non-numeric", "ml-latest-small", "movies.csv", 12,
         b"eleven,Salt Road (1994),Crime|Musical", "non-numeric movieId", "movies"),
    Case("csv-movie-duplicate", "ml-latest-small", "movies.csv", 12,
         b"5,Salt Road (1994),Crime|Musical", "duplicate movieId", "movies"),
    Case("csv-movie-unclosed-quote-fields", "ml-latest-small", "movies.csv", 12,
         b"11,Salt Road (1994)", "wrong field count (got 2)", "movies"),
    Case("csv-link-imdb", "ml-latest-small", "links.csv", 3, b"2,tt1100002,90002",
         "non-numeric imdbId", None),
    # ml-100k
    Case("100k-rating-half-star", "ml-100k", "u.data", 1, lambda s: s.replace(b"\t3\t", b"\t2.5\t"),
         "rating outside the scale", "ratings"),
    Case("100k-space-separated", "ml-100k", "u.data", 2, lambda s: s.replace(b"\t", b" "),
         "wrong field count (got 1)", "ratings"),
    Case("100k-timestamp-nanoseconds", "ml-100k", "u.data", 2,
         lambda s: s.rsplit(b"\t", 1)[0] + b"\t1700000000000000000", "timestamp not epoch seconds",
         "ratings"),
    Case("100k-unknown-user", "ml-100k", "u.data", 3, lambda s: b"99" + s[s.index(b"\t"):],
         "rating by an unknown user", "ratings"),
    Case("100k-genre-flag", "ml-100k", "u.item", 11, lambda s: s[:-1] + b"2",
         "bad genre flag", "movies"),
    Case("100k-item-fields", "ml-100k", "u.item", 11, lambda s: s.rsplit(b"|", 1)[0],
         "wrong field count (got 23)", "movies"),
    Case("100k-gender", "ml-100k", "u.user", 8, b"8|36|X|artist|02139", "bad gender", "users"),
    Case("100k-age", "ml-100k", "u.user", 8, b"8|0|F|artist|02139", "age out of range",
         "users"),
    # ml-1m
    Case("1m-too-few-fields", "ml-1m", "ratings.dat", 3, b"1::3::2", "wrong field count (got 3)",
         "ratings"),
    Case("1m-rating-zero", "ml-1m", "ratings.dat", 4, b"1::4::0::881031679",
         "rating outside the scale", "ratings"),
    Case("1m-timestamp-too-late", "ml-1m", "ratings.dat", 5, b"1::5::3::2199023255553",
         "timestamp not epoch seconds", "ratings"),
    Case("1m-occupation", "ml-1m", "users.dat", 8, b"8::F::35::25::02139",
         "unknown occupation code", "users"),
    Case("1m-age-code", "ml-1m", "users.dat", 8, b"8::F::30::2::02139", "unknown age code",
         "users"),
    Case("1m-movie-fields", "ml-1m", "movies.dat", 11, b"11::Salt Road (1994)",
         "wrong field count (got 2)", "movies"),
    # ml-10m
    Case("10m-rating-quarter", "ml-10m", "ratings.dat", 2, b"1::2::4.25::881015841",
         "rating outside the scale", "ratings"),
    Case("10m-tag-timestamp", "ml-10m", "tags.dat", 2, b"1::4::dark, moody::soon",
         "timestamp not an integer", "tags"),
    Case("10m-movie-id", "ml-10m", "movies.dat", 11, b"x11::Salt Road (1994)::Crime|Musical",
         "non-numeric movieId", "movies"),
]


def damaged_copy(tmp_path: Path, release: str, member: str, line: int,
                 damage: bytes | Callable[[bytes], bytes]) -> tuple[Path, str]:
    """Copy a fixture release and replace one physical line; return (dir, new line text)."""
    target = tmp_path / release
    shutil.copytree(FIXTURES / release, target)
    path = target / member
    lines = path.read_bytes().split(b"\n")
    new = damage(lines[line - 1]) if callable(damage) else damage
    assert new != lines[line - 1]
    lines[line - 1] = new
    path.write_bytes(b"\n".join(lines))
    encoding = "latin-1" if member.startswith("u.") or release == "ml-1m" else "utf-8"
    return target, new.decode(encoding, errors="backslashreplace")


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 15
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fail_mode_names_file_line_and_problem(tmp_path: Path, case: Case) -> None:
    path, text = damaged_copy(tmp_path, case.release, case.member, case.line, case.damage)
    with pytest.raises(LoadError) as err:
        read_movielens(path)
    message = str(err.value)
    assert message.startswith(f"{case.member}:{case.line}: {case.problem}: "), message
    assert repr(text) in message and "(expected " in message
    assert err.value.reject.line == case.line
    assert err.value.reject.file == case.member


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_skip_mode_drops_exactly_that_row(tmp_path: Path, case: Case) -> None:
    baseline = read_movielens(FIXTURES / case.release).counts()
    path, text = damaged_copy(tmp_path, case.release, case.member, case.line, case.damage)
    data = read_movielens(path, on_error="skip")
    assert len(data.rejects) == 1, data.rejects
    reject = data.rejects[0]
    assert (reject.file, reject.line, reject.problem, reject.text) == (
        case.member, case.line, case.problem, text)
    assert reject.expected
    expected = dict(baseline)
    if case.table is not None:
        expected[case.table] -= 1
    got = data.counts()
    got.pop("genres"), expected.pop("genres")
    assert got == expected


def test_duplicate_keeps_first_occurrence(tmp_path: Path) -> None:
    path, _ = damaged_copy(tmp_path, "ml-latest-small", "ratings.csv", 10,
                           b"2,1,3.0,964982703")
    data = read_movielens(path, on_error="skip")
    row = data.ratings[(data.ratings.userId == 2) & (data.ratings.movieId == 1)]
    assert len(row) == 1 and row.iloc[0]["timestamp"] != 964982703


def test_fail_mode_reports_first_problem_of_first_file(tmp_path: Path) -> None:
    path, _ = damaged_copy(tmp_path, "ml-latest-small", "ratings.csv", 20, b"4,1,9.0,1")
    ratings = path / "ratings.csv"
    lines = ratings.read_bytes().split(b"\n")
    lines[6] = b"1,6,x,1"  # line 7, earlier in the same file
    ratings.write_bytes(b"\n".join(lines))
    (path / "tags.csv").write_bytes(b"userId,movieId,tag,timestamp\n1,1,x,bad\n")
    with pytest.raises(LoadError, match=r"^ratings\.csv:7: rating not a number"):
        read_movielens(path)
    data = read_movielens(path, on_error="skip")
    assert [(r.file, r.line) for r in data.rejects] == [
        ("ratings.csv", 7), ("ratings.csv", 20), ("tags.csv", 2)]


def test_missing_required_file(tmp_path: Path) -> None:
    target = tmp_path / "ml-latest-small"
    shutil.copytree(FIXTURES / "ml-latest-small", target)
    (target / "ratings.csv").unlink()
    for mode in ("fail", "skip"):
        with pytest.raises(LoadError, match=r"^ratings\.csv:0: missing required file") as err:
            read_movielens(target, on_error=mode)  # type: ignore[arg-type]
        assert "ratings.csv missing" in str(err.value)


@pytest.mark.parametrize(("release", "member", "content"), [
    ("ml-latest-small", "ratings.csv", b"userId,movieId,rating,timestamp\n"),
    ("ml-latest-small", "movies.csv", b""),
    ("ml-100k", "u.data", b""),
    ("ml-1m", "ratings.dat", b"\n\n"),
])
def test_empty_required_file(tmp_path: Path, release: str, member: str, content: bytes) -> None:
    target = tmp_path / release
    shutil.copytree(FIXTURES / release, target)
    (target / member).write_bytes(content)
    with pytest.raises(LoadError, match=rf"^{member}:0: empty required file"):
        read_movielens(target, on_error="skip")


def test_empty_optional_file_is_fine(tmp_path: Path) -> None:
    target = tmp_path / "ml-latest-small"
    shutil.copytree(FIXTURES / "ml-latest-small", target)
    (target / "tags.csv").write_bytes(b"userId,movieId,tag,timestamp\n")
    data = read_movielens(target)
    assert data.counts()["tags"] == 0 and list(data.tags.columns) == [
        "userId", "movieId", "tag", "timestamp"]


def test_unexpected_header(tmp_path: Path) -> None:
    path, _ = damaged_copy(tmp_path, "ml-latest-small", "ratings.csv", 1,
                           b"user,movie,rating,timestamp")
    with pytest.raises(LoadError, match=r"^ratings\.csv:1: unexpected header"):
        read_movielens(path)
    data = read_movielens(path, on_error="skip")
    assert data.rejects == [Reject("ratings.csv", 1, "user,movie,rating,timestamp",
                                   "unexpected header",
                                   "the header userId,movieId,rating,timestamp")]
    assert len(data.ratings) == 35


def test_blank_lines_are_ignored_but_counted(tmp_path: Path) -> None:
    path, _ = damaged_copy(tmp_path, "ml-latest-small", "ratings.csv", 5, b"")
    ratings = path / "ratings.csv"
    ratings.write_bytes(ratings.read_bytes() + b"\n\n")
    lines = ratings.read_bytes().split(b"\n")
    lines[9] = b"2,99,4.0,1"  # line 10
    ratings.write_bytes(b"\n".join(lines))
    with pytest.raises(LoadError, match=r"^ratings\.csv:10: rating for an unknown movie"):
        read_movielens(path)
    assert len(read_movielens(path, on_error="skip").ratings) == 33


def test_no_release_found(tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("nothing here")
    with pytest.raises(LoadError, match="no MovieLens files found"):
        read_movielens(tmp_path)
    with pytest.raises(LoadError, match="path not found"):
        read_movielens(tmp_path / "nope.zip")
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(LoadError, match="not a zip file"):
        read_movielens(tmp_path / "bad.zip")


def test_two_releases_in_one_folder_is_an_error(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "ml-100k", tmp_path / "ml-100k")
    shutil.copytree(FIXTURES / "ml-1m", tmp_path / "ml-1m")
    with pytest.raises(LoadError, match="several MovieLens releases"):
        read_movielens(tmp_path)


def test_load_error_pickles() -> None:
    err = LoadError(Reject("u.data", 3, "x", "wrong field count (got 1)", "4 fields"))
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) == (
        "u.data:3: wrong field count (got 1): 'x' (expected 4 fields); nothing was written")
    assert again.reject == err.reject


def test_bad_on_error_value() -> None:
    with pytest.raises(ValueError, match="on_error"):
        read_movielens(FIXTURES / "ml-100k", on_error="ignore")  # type: ignore[arg-type]


def test_the_timestamp_bound_is_inclusive_and_shared_with_engine_rate(tmp_path: Path) -> None:
    from engine.schema import MAX_TIMESTAMP
    from loader import parse

    assert parse.MAX_TIMESTAMP is MAX_TIMESTAMP == 2**35
    path, _ = damaged_copy(tmp_path, "ml-latest-small", "ratings.csv", 11, b"2,9,4.0,34359738368")
    ratings = read_movielens(path).ratings
    assert ratings[(ratings.userId == 2) & (ratings.movieId == 9)]["timestamp"].tolist() == [2**35]
    path.joinpath("ratings.csv").write_bytes(
        path.joinpath("ratings.csv").read_bytes().replace(b"2,9,4.0,34359738368", b"2,9,4.0,0"))
    assert 0 in read_movielens(path).ratings["timestamp"].tolist()


@pytest.mark.parametrize("zipped", [False, True])
def test_a_folder_with_two_formats_is_refused_naming_both(tmp_path: Path, zipped: bool) -> None:
    """Issue 29 item 7: ml-100k's u.* files beside CSV files are not silently loaded as ml-100k."""
    import zipfile

    folder = tmp_path / "mixed"
    shutil.copytree(FIXTURES / "ml-100k", folder)
    for member in ("ratings.csv", "movies.csv"):
        shutil.copy(FIXTURES / "ml-latest-small" / member, folder / member)
    path = folder
    if zipped:
        path = tmp_path / "mixed.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for f in sorted(folder.iterdir()):
                zf.write(f, f"mixed/{f.name}")
    with pytest.raises(LoadError) as err:
        read_movielens(path)
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message
    assert "ml-100k" in message and "u.data" in message
    assert "CSV" in message and "ratings.csv" in message
    assert err.value.reject.line == 0
