"""Keep decoding's memory flat in the number of turns (glibc's malloc, the Linux default).

glibc serves a large block from mmap and returns it to the OS when freed, but after such a free
it raises its mmap threshold to that block's size (up to 32 MB), so later blocks of that size
(attention scores, FFN activations: tens of MB on a batch of boards) come from the heap instead,
where fragmentation keeps freed memory resident. Decoding allocates and frees the same large
activations every turn, so resident memory crept up with the turn count, by a different amount
in each run (make bench (c): 681 -> 1472 MB from 4 to 256 turns). Pinning the threshold turns
the adjustment off: every block above it is mmapped and returned on free, and peak memory stops
depending on the number of turns (519 vs 522 MB at 16 and 256 turns).
"""

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
DEFAULT_THRESHOLD = 128 * 1024  # glibc's initial threshold

_pinned: int | None = None


def pin_mmap_threshold(nbytes: int = DEFAULT_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at `nbytes` (once per process). False where the C library is not
    glibc (macOS, musl): there is nothing to pin and nothing changes."""
    global _pinned
    if _pinned == nbytes:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # glibc only: musl has mallopt as a no-op stub
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    if mallopt(M_MMAP_THRESHOLD, int(nbytes)) != 1:
        return False
    _pinned = nbytes
    return True
