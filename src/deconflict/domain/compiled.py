"""The engine's compiled loops: numba's `njit`, typed for mypy, cached on disk.

numba compiles a kernel the first time it runs on a machine (about a second) and keeps the machine code
beside its module (`__pycache__`), so later processes load it in milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]

_Kernel = TypeVar("_Kernel", bound=Callable[..., Any])


def compiled(kernel: _Kernel) -> _Kernel:
    """Compile `kernel` with numba (no Python objects inside; releases the GIL)."""
    return cast(_Kernel, numba.njit(cache=True, nogil=True)(kernel))
