"""Profile records are read in chunks; a broken line is still named by its number."""

from __future__ import annotations

import json

import pytest

import inferplan.profiles.store as store
from inferplan.errors import InputError


def _profile(tmp_path, lines: list[str]):
    path = tmp_path / "p.jsonl"
    header = {"format": "inferplan.profile/1", "configs": [{"name": "default", "temperature": 0.7}]}
    path.write_text("\n".join([json.dumps(header), *lines]) + "\n")
    return path


def _rec(i: int) -> str:
    return json.dumps({"problem": str(i % 7), "config": "default", "index": i // 7, "answer": str(i % 3),
                       "correct": i % 2 == 0})


def test_chunks_read_every_record_in_order(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(store, "_CHUNK", 5)
    lines = [_rec(i) for i in range(23)]
    lines.insert(9, "")  # blank lines are skipped
    recs = list(store.iter_records(_profile(tmp_path, lines)))
    assert recs == [json.loads(x) for x in lines if x]


@pytest.mark.parametrize("bad", ['{"problem": "1", "config"', '{"a": 1}, {"b": 2}'])
def test_broken_line_is_named(tmp_path, monkeypatch, bad: str) -> None:
    monkeypatch.setattr(store, "_CHUNK", 5)
    lines = [_rec(i) for i in range(12)]
    lines[7] = bad  # file line 9 (the header is line 1)
    with pytest.raises(InputError, match=r"p\.jsonl:9: broken record line"):
        list(store.iter_records(_profile(tmp_path, lines)))
