"""Task files in the formats people have: CSV, Parquet, Arrow, `save_to_disk` directories, the hub cache.

The Parquet, Arrow and saved-dataset files are written by pyarrow and by the real
`datasets` library; the hub cache is laid out as huggingface_hub lays it out
(``datasets--OWNER--NAME/snapshots/REV/CONFIG/SPLIT-00000-of-00001.parquet``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from inferplan.errors import InputError
from inferplan.tasks.taskset import load_tasks

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

GSM8K = [  # GSM8K's own columns and answer format
    {"question": "Natalia sold 48 clips in April and half as many in May. How many in all?",
     "answer": "In May she sold 48/2 = <<48/2=24>>24 clips.\n48+24 = <<48+24=72>>72\n#### 72"},
    {"question": "A shop sells 1,000 pens a day. How many in two days?", "answer": "1000*2=2000\n#### 2,000"},
]
MATH = [  # MATH's columns: the answer is the last \boxed{} of the solution
    {"problem": "What is $\\frac{1}{2}+\\frac{1}{4}$?", "solution": "We get $\\boxed{\\frac{3}{4}}$.",
     "level": "Level 1", "type": "Prealgebra"},
]


def test_gsm8k_and_math_answers_are_read_without_flags(tmp_path: Path) -> None:
    path = tmp_path / "gsm8k.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in GSM8K))
    assert [t.answer for t in load_tasks(str(path)).tasks] == ["72", "2000"]
    math = tmp_path / "math.jsonl"
    math.write_text(json.dumps(MATH[0]) + "\n")
    task = load_tasks(str(math)).tasks[0]
    assert task.answer == "\\frac{3}{4}" and task.text.startswith("What is")
    assert task.meta == {k: MATH[0][k] for k in ("solution", "level", "type")}  # other columns are kept


def test_csv_parquet_and_arrow_give_the_same_tasks(tmp_path: Path) -> None:
    rows = [{"id": f"q{i}", **r} for i, r in enumerate(GSM8K)]
    with (tmp_path / "t.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "question", "answer"])
        writer.writeheader()
        writer.writerows(rows)
    table = pa.Table.from_pylist(rows)
    pq.write_table(table, tmp_path / "t.parquet")
    with pa.OSFile(str(tmp_path / "t.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    loaded = [load_tasks(str(tmp_path / name)).tasks for name in ("t.csv", "t.parquet", "t.arrow")]
    assert loaded[0] == loaded[1] == loaded[2]
    assert [t.id for t in loaded[0]] == ["q0", "q1"] and loaded[0][0].answer == "72"


def test_field_mapping_and_its_errors(tmp_path: Path) -> None:
    pq.write_table(pa.Table.from_pylist([{"key": 7, "body": "What is 2+2?", "gold": "4"}]), tmp_path / "x.parquet")
    spec = f"{tmp_path / 'x.parquet'}#id=key,question=body,answer=gold"
    ts = load_tasks(spec)
    assert (ts.tasks[0].id, ts.tasks[0].text, ts.tasks[0].answer) == ("7", "What is 2+2?", "4")
    assert ts.source == spec  # the mapping travels with the source, so plans reload the same tasks
    with pytest.raises(InputError, match="no column 'nope'"):
        load_tasks(f"{tmp_path / 'x.parquet'}#answer=nope")
    with pytest.raises(InputError, match="unknown task option 'colour'"):
        load_tasks(f"{tmp_path / 'x.parquet'}#colour=red")
    with pytest.raises(InputError, match="no answer"):
        load_tasks(f"{tmp_path / 'x.parquet'}#question=body")


def test_a_saved_dataset_directory(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    splits = datasets.DatasetDict({
        "train": datasets.Dataset.from_list(GSM8K[:1]), "test": datasets.Dataset.from_list(GSM8K)})
    splits.save_to_disk(str(tmp_path / "gsm8k"))
    assert [t.answer for t in load_tasks(str(tmp_path / "gsm8k")).tasks] == ["72", "2000"]  # test by default
    assert len(load_tasks(f"{tmp_path / 'gsm8k'}#split=train").tasks) == 1
    with pytest.raises(InputError, match="no split 'dev'"):
        load_tasks(f"{tmp_path / 'gsm8k'}#split=dev")
    datasets.Dataset.from_list(MATH).save_to_disk(str(tmp_path / "math"))
    assert load_tasks(str(tmp_path / "math")).tasks[0].answer == "\\frac{3}{4}"


def test_the_hub_cache_is_read_offline_and_a_missing_dataset_says_how_to_get_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(InputError, match="never downloads.*huggingface-cli download --repo-type dataset openai/gsm8k"):
        load_tasks("hf:openai/gsm8k")
    snapshot = tmp_path / "hub" / "datasets--openai--gsm8k" / "snapshots" / "e53f048856ff4f594e959d75785d2c2d37b678ee"
    for config in ("main", "socratic"):
        (snapshot / config).mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(GSM8K), snapshot / config / "test-00000-of-00001.parquet")
        pq.write_table(pa.Table.from_pylist(GSM8K[:1]), snapshot / config / "train-00000-of-00001.parquet")
    with pytest.raises(InputError, match="choose a config with '#config=NAME' \\(it has main, socratic\\)"):
        load_tasks("hf:openai/gsm8k")
    ts = load_tasks("hf:openai/gsm8k#config=main")
    assert [t.answer for t in ts.tasks] == ["72", "2000"]
    assert len(load_tasks("hf:openai/gsm8k#config=main,split=train").tasks) == 1
