"""Makes this Python look like Windows to gmgrade (tests put this folder on PYTHONPATH).

POSIX-only modules cannot be imported, libc cannot be reached through ctypes, and there
is no fork and no interval timer. bubblewrap is hidden by the test (PATH).
"""

import ctypes
import os
import signal
import sys

try:  # IPython's shell support (for ! lines) on POSIX, which Windows' IPython never imports
    import pexpect  # noqa: F401 - loaded before fcntl is hidden, so that a kernel can start
except ImportError:
    pass

for _name in ("resource", "fcntl"):
    sys.modules[_name] = None  # `import resource` raises ImportError

_CDLL = ctypes.CDLL


class _NoLibc(_CDLL):
    def __init__(self, name, *args, **kwargs):
        if name is None or "libc" in os.path.basename(str(name)):
            raise OSError(f"{name}: no C library here (like Windows)")
        super().__init__(name, *args, **kwargs)


ctypes.CDLL = _NoLibc
for _name in ("fork", "forkpty"):
    if hasattr(os, _name):
        delattr(os, _name)
for _name in ("setitimer", "SIGALRM"):
    if hasattr(signal, _name):
        delattr(signal, _name)
os.environ["GMGRADE_NONPOSIX_SHIM"] = "1"  # so a test can tell the shim was loaded
