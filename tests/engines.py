"""The real llama.cpp engine on the embedded model, for module-scoped test fixtures."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from inferplan.backends import BackendSettings


@contextmanager
def embedded_engine(tmp_path_factory: pytest.TempPathFactory, ctx: int):
    """SmolLM2 on llama.cpp, 4 slots of ``ctx`` tokens, closed on exit.

    A module-scope fixture runs before conftest's per-test INFERPLAN_HOME, so the engine's
    state is isolated the same way here."""
    from inferplan.backends.llamacpp.engine import LlamaCppBackend

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INFERPLAN_HOME", str(tmp_path_factory.getbasetemp() / "inferplan-home"))
        backend = LlamaCppBackend("smollm2", BackendSettings(ctx=ctx, parallel=4))
    try:
        yield backend
    finally:
        backend.close()
