"""Builds and caches the C kernels under ``seqlab/nn/csrc`` (the compiled backend's LSTM loops).

A library is built on first use with the system's C compiler (``$CC``, else ``cc``/``gcc``,
about a second) into ``$SEQLAB_KERNEL_DIR`` or ``~/.cache/seqlab/kernels`` and loaded with
ctypes; the file name hashes the sources, the compiler, the flags and the CPU, so a changed
source, compiler or machine gets its own build. It is first built with OpenMP (``-fopenmp``:
the library then links libgomp, the runtime torch has loaded, and shares its threads), else
without (the loops then run on one thread).

The target ISA comes from ``SEQLAB_CPU_ISA`` (default ``native``):

* ``native``: ``-march=native`` (on x86-64 with AVX-512 also ``-mprefer-vector-width=512``:
  GCC otherwise auto-vectorizes the gate loops with 256-bit vectors on Intel AVX-512 CPUs);
* ``avx512``: ``-march=x86-64-v4`` (AVX-512 F/BW/CD/DQ/VL); ``avx2``: ``-march=x86-64-v3``
  (AVX2, FMA); both tuned for this CPU (``-mtune=native``);
* ``portable``: no ``-march`` at all (the compiler's baseline: SSE2 on x86-64, NEON on aarch64).

The C side picks its vector width and register blocking from what the compiler targets (see
``csrc/lstm_loop.c``); ``seqlab_kernel_target()`` in the library says what it got.
``SEQLAB_NO_C_KERNELS=1`` disables the C kernels (callers then run PyTorch ops).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from seqlab.errors import ConfigError

log = logging.getLogger(__name__)

CSRC = Path(__file__).with_name("csrc")
ISAS = ("native", "avx512", "avx2", "portable")
_BASE_FLAGS = ["-O3", "-fno-math-errno", "-fopenmp-simd", "-shared", "-fPIC"]
_VARIANTS = (["-fopenmp"], [])  # with OpenMP first, else single-threaded
_cache: dict[tuple, ctypes.CDLL | None] = {}


def cpu_description() -> str:
    """The CPU's name and feature flags: code built for this CPU is reused only on the same."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = [line for line in f if line.startswith(("model name", "flags", "Features"))]
        return platform.machine() + "".join(lines[:2])
    except OSError:
        return platform.machine() + platform.processor()


def requested_isa() -> str:
    """``$SEQLAB_CPU_ISA`` (default ``native``), checked against :data:`ISAS`."""
    isa = os.environ.get("SEQLAB_CPU_ISA", "native").strip().lower() or "native"
    if isa not in ISAS:
        raise ConfigError(f"SEQLAB_CPU_ISA must be one of {ISAS}, got {isa!r}")
    return isa


def isa_flags(isa: str) -> list[str]:
    """The compiler flags for ``isa`` (see the module docstring)."""
    x86 = platform.machine().lower() in ("x86_64", "amd64")
    if isa == "portable":
        return []
    if isa == "native":
        flags = ["-march=native"]
        if x86 and " avx512f" in cpu_description():
            flags.append("-mprefer-vector-width=512")
        return flags
    if not x86:
        raise ConfigError(f"SEQLAB_CPU_ISA={isa} needs an x86-64 CPU, this is "
                          f"{platform.machine()}; use native or portable")
    if isa == "avx512":
        return ["-march=x86-64-v4", "-mtune=native", "-mprefer-vector-width=512"]
    return ["-march=x86-64-v3", "-mtune=native"]


def kernel_folder() -> str:
    """``$SEQLAB_KERNEL_DIR``, else ``~/.cache/seqlab/kernels`` (or under ``$XDG_CACHE_HOME``);
    a folder we do not own or others can write to is not used (then a private temporary one)."""
    folder = os.environ.get("SEQLAB_KERNEL_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "seqlab", "kernels")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.stat(folder)
        if info.st_uid == os.getuid() and not info.st_mode & 0o022:
            return folder
    except OSError:
        pass
    return tempfile.mkdtemp(prefix="seqlab-kernels-")  # private, for this process only


# environment variables that change what the peers' kernels run (torch, oneDNN, MKL)
_PEER_ISA_VARS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")


def host_key(extra: str = "") -> str:
    """A short hash of the CPU, the torch version, the peers' ISA variables and ``extra``: a
    measured choice is reused only where all of them are the same."""
    return _host_key(extra, ";".join(f"{v}={os.environ.get(v, '')}" for v in _PEER_ISA_VARS))


@functools.cache
def _host_key(extra: str, peers: str) -> str:
    import torch  # only for its version; the build code itself does not need torch

    text = cpu_description() + torch.__version__ + peers + extra
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def read_choices(file: str) -> dict:
    """The measured choices saved in ``file`` beside the built kernels ({} if none)."""
    try:
        with open(os.path.join(kernel_folder(), file)) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def save_choice(file: str, entry_key: str, entry: dict) -> None:
    """Merges one entry into ``file``, atomically (a temporary file, then ``os.replace``)."""
    folder = kernel_folder()
    data = read_choices(file)
    data[entry_key] = entry
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{file}-", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=0, sort_keys=True)
        os.replace(tmp, os.path.join(folder, file))
    except OSError as error:  # a read-only cache: the choice stays in memory
        log.info("could not save %s (%s)", file, error)


def _sources(name: str) -> list[Path]:
    """``csrc/<name>.c`` and the headers it includes (every ``csrc/<name>*.h``)."""
    return [CSRC / f"{name}.c", *sorted(CSRC.glob(f"{name}*.h"))]


def build(name: str, defines: tuple[str, ...] = ()) -> ctypes.CDLL | None:
    """``csrc/<name>.c`` built for :func:`requested_isa` (cached per process and on disk), or
    None without a C compiler, with ``SEQLAB_NO_C_KERNELS``, or if the build fails (logged)."""
    if os.environ.get("SEQLAB_NO_C_KERNELS"):
        return None
    isa = requested_isa()
    key = (name, isa, defines)
    if key not in _cache:
        _cache[key] = _build(name, isa, [f"-D{d}" for d in defines])
    return _cache[key]


def _build(name: str, isa: str, defines: list[str]) -> ctypes.CDLL | None:
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        log.info("no C compiler found: the %s kernels run as PyTorch ops", name)
        return None
    sources = _sources(name)
    text = "\0".join(f"{p.name}\0{p.read_text()}" for p in sources)
    folder = kernel_folder()
    for extra in _VARIANTS:
        flags = [*_BASE_FLAGS, *isa_flags(isa), *defines, *extra]
        digest = hashlib.sha256("\0".join([text, compiler, *flags, sys.platform,
                                           cpu_description()]).encode()).hexdigest()[:16]
        path = os.path.join(folder, f"{name}_{isa}_{digest}.so")
        try:
            if not os.path.exists(path):
                with tempfile.TemporaryDirectory(dir=folder) as work:
                    out = os.path.join(work, f"{name}.so")
                    subprocess.run([compiler, *flags, f"-I{CSRC}", str(sources[0]), "-o", out,
                                    "-lm"], check=True, capture_output=True, text=True,
                                   timeout=120)
                    os.replace(out, path)  # atomic: concurrent builders write the same file
            return ctypes.CDLL(path)
        except (OSError, subprocess.SubprocessError) as error:
            detail = str(getattr(error, "stderr", "") or error).strip()[:500]
            if extra:
                log.info("C kernels %s with %s failed (%s); building them for one thread", name,
                         " ".join(extra), detail)
                continue
            log.warning("building the C kernels %s failed (%s); they run as PyTorch ops", name,
                        detail)
    return None


def kernel_target(lib: ctypes.CDLL | None) -> str:
    """What a built library targets (``seqlab_kernel_target()``), or why there is none."""
    if lib is None:
        return "none (PyTorch ops)"
    fn = lib.seqlab_kernel_target
    fn.restype = ctypes.c_char_p
    return f"{requested_isa()}: {fn().decode()}"
