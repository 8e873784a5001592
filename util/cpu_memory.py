"""Keep freed CPU memory in the process (glibc malloc), so that the large tensors a training step allocates
and frees every iteration reuse pages that are already mapped.

glibc returns blocks of 32 MiB and more (and, by its default, trimmed heap tops) to the operating system when
they are freed; the next step's tensors of the same size are then mapped afresh and every page is zero-filled on
its first touch. On pix2pix's unet_256 (54M parameters) a training step allocates its weight casts, gradients
and optimizer temporaries anew each time, and those page faults were most of the time the profile shows as
``aten::copy_``. Raising the mmap and trim thresholds keeps the memory in the process instead: the resident set
stays at its high-water mark, the values computed are unchanged.
"""
import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1  # glibc mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
THRESHOLD = 1 << 30  # blocks under 1 GiB come from (and go back to) the heap, which is never trimmed below 2 GiB
TRIM = 2 ** 31 - 1

_applied = None


def keep_freed_memory():
    """Raise glibc's mmap and trim thresholds for this process (and processes forked from it); returns True
    when applied, False where the C library is not glibc (the setting is then simply not available)."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # glibc only: other C libraries' mallopt ignores these parameters
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    _applied = bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM))
    return _applied
