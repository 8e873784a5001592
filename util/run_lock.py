"""One trainer per run: train.py holds an OS lock on checkpoints/NAME/.train.lock while it trains.

The lock is ``fcntl.flock`` on an open file, so the kernel drops it when the process ends in any way (kill -9
included): a lock file left behind is never stale, only unlocked. The file holds the holder's PID and host, for
the message a second trainer ends with. Readers (test.py, app.py, tools/export.py) never take it. On a network
filesystem flock is only as good as the filesystem's lock support (NFSv4 and Lustre with flock enabled honour
it across machines). Without fcntl (Windows) there is no lock.
"""
import os
import socket

try:
    import fcntl
except ImportError:
    fcntl = None

from util.errors import RunLockedError

LOCK_FILE = '.train.lock'


class RunLock:
    """``with RunLock(run_dir) as lock: ... lock.acquire()``: acquire takes the lock (RunLockedError when another
    process holds it); leaving the block or :meth:`release` drops it."""

    def __init__(self, run_dir):
        self.path = os.path.join(run_dir, LOCK_FILE)
        self.fd = None

    def acquire(self):
        if self.fd is not None or fcntl is None:
            return
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 256, 0).decode(errors='replace').strip() or 'another process (starting up)'
            os.close(fd)
            raise RunLockedError(f'{os.path.dirname(self.path)} is being trained by {holder}, which holds '
                                 f'{self.path}; wait for it to end or stop it, or train under another --name') from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f'PID {os.getpid()} on host {socket.gethostname()}\n'.encode(), 0)
        self.fd = fd

    def release(self):
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor drops the lock; the file stays (unlocked)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
