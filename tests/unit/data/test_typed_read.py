"""The fast read of large long tables (``read_typed``, Arrow's CSV reader): where it answers, it
answers what the exact, line-counting reader does; where it cannot be exact, it gives way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from automl_rnn.data.csvread import read_table, read_typed


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "d.csv"
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def test_a_plain_table_reads_typed_as_the_exact_reader_reads_it(tmp_path: Path) -> None:
    """A byte-order mark, quoted cells, missing-value tokens and a column named twice that was
    not asked for: the same ids (text kept: '012' is not '12'), numbers and missing cells."""
    path = _write(
        tmp_path,
        '\ufeffid,t,x,note,note\n012,0,"1.5",a,b\n12,1,NA,a,b\n"12",2,-3e2,a,b\nx y,3,,a,b\n',
    )
    typed = read_typed(path, ("id",), ("x",), "t")
    exact = read_table(path)
    assert typed is not None
    assert typed.frame["id"].astype(str).tolist() == ["012", "12", "12", "x y"]
    assert typed.frame["id"].tolist() == exact.frame["id"].tolist()
    np.testing.assert_array_equal(typed.numeric("x", "--features"), exact.numeric("x", "-"))
    np.testing.assert_array_equal(typed.numeric("t", "--time-col"), [0, 1, 2, 3])
    assert typed.lines.tolist() == exact.lines.tolist() == [2, 3, 4, 5]


@pytest.mark.parametrize(
    ("why", "text"),
    [
        ("a number that does not parse", "id,t,x\na,0,1.5\na,1,1.5x\n"),
        ("a row longer than the header", "id,t,x\na,0,1.5\na,1,2,9\n"),
        ("not comma-separated", "id;t;x\na;0;1,5\na;1;2,5\n"),
        ("spaces around an id", "id,t,x\n a ,0,1.5\na,1,2.5\n"),
        ("the id column named twice", "id,t,x,id\na,0,1.5,b\na,1,2.5,b\n"),
        ("no data rows", "id,t,x\n"),
    ],
)
def test_what_the_typed_read_cannot_read_exactly_goes_to_the_exact_reader(
    tmp_path: Path, why: str, text: str
) -> None:
    assert read_typed(_write(tmp_path, text), ("id",), ("x",), "t") is None, why


def test_a_file_that_is_not_utf8_goes_to_the_exact_reader(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,t,x\ncaf\xe9,0,1.5\nb,1,2.5\n".encode("latin-1"))
    assert read_typed(path, ("id",), ("x",), "t") is None
    assert read_table(path).frame["id"].tolist() == ["café", "b"]
