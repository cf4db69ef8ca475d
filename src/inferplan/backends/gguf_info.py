"""GGUF metadata without loading the model: architecture, parameters, quantisation, sha256.

The GGUF header is parsed directly (key/value pairs, then tensor infos) so that
``inferplan models`` works without llama.cpp and in milliseconds. The sha256 of a
model file is slow to compute (hundreds of MB), so it is cached under
``data_dir()`` keyed by (path, size, mtime).
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from dataclasses import dataclass
from math import prod
from pathlib import Path

from inferplan._util.hashing import sha256_file
from inferplan._util.paths import data_dir
from inferplan.errors import ModelError

# GGUF value types → struct format (scalars); 8 = string, 9 = array.
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9

# llama_ftype values (general.file_type) → the names users know.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
    11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
    17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
    23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
    29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE",
}


@dataclass(frozen=True)
class GGUFInfo:
    """What ``inferplan models`` shows about a GGUF file."""

    path: str
    name: str | None
    architecture: str | None
    parameters: int
    quantization: str | None
    context_length: int | None
    size_bytes: int
    chat_template: str | None
    metadata: dict  # scalar key/values (arrays summarised by length)


class _Reader:
    """Sequential little-endian reader over a memory map."""

    def __init__(self, buf: mmap.mmap) -> None:
        self.buf, self.pos = buf, 0

    def scalar(self, fmt: str):
        (value,) = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        n = self.scalar("Q")
        raw = self.buf[self.pos : self.pos + n]
        self.pos += n
        return raw.decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        self.pos += 8 + struct.unpack_from("<Q", self.buf, self.pos)[0]

    def value(self, vtype: int):
        if vtype in _SCALARS:
            return self.scalar(_SCALARS[vtype])
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            etype, n = self.scalar("I"), self.scalar("Q")
            if etype in _SCALARS:  # fixed width: skip in one step
                self.pos += n * struct.calcsize(_SCALARS[etype])
            elif etype == _STRING:  # e.g. the vocabulary: skip without decoding
                for _ in range(n):
                    self.skip_string()
            else:
                for _ in range(n):
                    self.value(etype)
            return f"<array of {n}>"
        raise ValueError(f"unknown GGUF value type {vtype}")


def read_gguf_info(path: str | Path) -> GGUFInfo:
    """Parse a GGUF file's header; ModelError if it is missing or not valid GGUF."""
    p = Path(path)
    try:
        with p.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _parse(p, buf)
    except FileNotFoundError:
        raise ModelError(f"model file not found: {path}") from None
    except (ValueError, struct.error, OSError) as e:
        raise ModelError(f"not a valid GGUF model file: {path} ({e})") from None


def _parse(p: Path, buf: mmap.mmap) -> GGUFInfo:
    r = _Reader(buf)
    if buf[:4] != b"GGUF":
        raise ValueError("bad magic")
    r.pos = 4
    version = r.scalar("I")
    if version < 2:
        raise ValueError(f"GGUF version {version} is too old")
    n_tensors, n_kv = r.scalar("Q"), r.scalar("Q")
    meta: dict = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.scalar("I"))
    parameters, last_offset = 0, -1
    for _ in range(n_tensors):
        r.skip_string()
        dims = [r.scalar("Q") for _ in range(r.scalar("I"))]
        r.pos += 4  # tensor type
        last_offset = max(last_offset, r.scalar("Q"))  # from the start of the aligned data section
        parameters += prod(dims)
    alignment = int(meta.get("general.alignment", 32)) or 32
    data_start = -(-r.pos // alignment) * alignment
    if n_tensors and data_start + last_offset >= len(buf):
        # A partial download or copy: the header is whole but tensor data is missing.
        raise ValueError(f"truncated: its tensor index needs more than {data_start + last_offset:,} bytes, "
                         f"the file has {len(buf):,}")
    arch = meta.get("general.architecture")
    ftype = meta.get("general.file_type")
    return GGUFInfo(
        path=str(p.resolve()),
        name=meta.get("general.name"),
        architecture=arch,
        parameters=int(parameters),
        quantization=FILE_TYPES.get(ftype, f"type {ftype}") if ftype is not None else None,
        context_length=meta.get(f"{arch}.context_length") if arch else None,
        size_bytes=p.stat().st_size,
        chat_template=meta.get("tokenizer.chat_template"),
        metadata={k: v for k, v in meta.items() if k != "tokenizer.chat_template"},
    )


def file_sha256(path: str | Path) -> str:
    """sha256 of a file, cached under data_dir() by (resolved path, size, mtime)."""
    p = Path(path).resolve()
    st = p.stat()
    key = f"{p}|{st.st_size}|{st.st_mtime_ns}"
    cache_file = data_dir() / "sha256-cache.json"
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    if key in cache:
        return cache[key]
    cache[key] = sha256_file(p)
    tmp = cache_file.with_name(f"sha256-cache.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(cache, indent=0))
    tmp.replace(cache_file)  # atomic: concurrent runs never see a torn cache
    return cache[key]
