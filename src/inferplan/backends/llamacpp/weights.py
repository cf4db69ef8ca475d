"""Which weights the llama.cpp engine decodes with: the file as given, or an F16 copy.

llama.cpp's CPU kernels for batched decoding are fast only for some quantizations
(Q4_0 and Q8_0 through tinyBLAS/repacking on x86; F16 everywhere). Others, such as
the embedded model's Q4_1, fall back to one dot product per row and column, so a
batch of 16 samples gains little over one. Measured on the embedded model (2-core
AVX2 machine, batch-16 ``llama_decode``): Q4_1 173–183 tok/s, its F16 copy
230–280 tok/s — while at batch 1 the F16 copy is slower (66 vs 100 tok/s).

Small models are compute-bound at batch width ≥ 4, so for them ``auto`` decodes
(when the file's type is one of those measured slow in batches) with an F16 copy
of the weights, made once with llama.cpp's own converter and cached under
``data_dir()/weights``. Dequantising to F16 keeps every weight to
within F16 rounding (relative 2^-11) of the quantized value, so it is the same
model. Large models are bandwidth-bound; F16 would double or quadruple the bytes
read per step, so ``auto`` keeps their file as it is.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from inferplan._util.paths import data_dir
from inferplan.backends.gguf_info import GGUFInfo
from inferplan.errors import InvalidValue

log = logging.getLogger("inferplan.llamacpp")

CHOICES = ("auto", "native", "f16")
# Above this, an F16 copy costs more memory bandwidth than the quantized kernels lose.
AUTO_MAX_PARAMETERS = 500_000_000
# Below this batch width the quantized kernels win (they read fewer bytes per step).
AUTO_MIN_PARALLEL = 4
_FLOAT_TYPES = {"F16", "BF16", "F32"}
# File types measured slower than their F16 copy at batch 16 on the embedded model
# (tok/s: Q4_1 ~180, Q5_1 ~124, Q8_0 ~212, F16 ~250-280). Q4_0 (~296, repacked) and
# the types not measured keep their own kernels.
_SLOW_BATCHED = {"Q4_1", "Q5_1", "Q8_0"}


def check_weights(choice: str) -> None:
    """Refuse a ``--weights`` value that is not one of CHOICES."""
    if choice not in CHOICES:
        raise InvalidValue("weights", f"{{name}} must be one of {', '.join(CHOICES)}, got {choice!r}")


def wants_f16(choice: str, info: GGUFInfo, parallel: int, offload: bool) -> bool:
    """Whether to decode with an F16 copy, for ``--weights CHOICE``."""
    check_weights(choice)
    if choice != "auto":
        return choice == "f16" and (info.quantization or "").upper() not in _FLOAT_TYPES
    return (
        not offload
        and parallel >= AUTO_MIN_PARALLEL
        and 0 < (info.parameters or 0) <= AUTO_MAX_PARAMETERS
        and (info.quantization or "").upper() in _SLOW_BATCHED
    )


def f16_copy(L, source: Path, sha256: str) -> Path | None:
    """Path of the cached F16 copy of ``source`` (whose sha256 is given), made now if missing; None if it can't be made."""
    target = data_dir() / "weights" / f"{sha256[:24]}-f16.gguf"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp")
    params = L.llama_model_quantize_default_params()
    params.ftype = L.LLAMA_FTYPE_MOSTLY_F16
    params.allow_requantize = True  # the source is already quantized; this only dequantizes
    params.nthread = os.cpu_count() or 1
    try:
        rc = L.llama_model_quantize(str(source).encode(), str(tmp).encode(), params)
        if rc != 0:
            raise OSError(f"llama_model_quantize returned {rc}")
        tmp.replace(target)  # atomic: a concurrent process sees no file or the whole file
    except OSError as e:
        tmp.unlink(missing_ok=True)
        log.warning("could not make an F16 copy of %s (%s); decoding with the file as it is", source.name, e)
        return None
    log.info("made an F16 copy of %s for batched decoding: %s", source.name, target)
    return target
