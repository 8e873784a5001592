"""A visdom server on 127.0.0.1 for tests and benchmarks, started without its CDN download (works offline)."""
import contextlib
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_visdom_server(env_path=None, start_timeout=90):
    """Start ``visdom.server`` on a free loopback port, yield the port, and stop it afterwards.

    Raises RuntimeError when the server does not accept connections within ``start_timeout`` seconds.
    """
    port = free_port()
    env_path = env_path or tempfile.mkdtemp(prefix='visdom_env_')
    proc = subprocess.Popen([sys.executable, '-c', 'from visdom.server.run_server import main; main()',
                             '-port', str(port), '--hostname', '127.0.0.1', '-env_path', str(env_path),
                             '-logging_level', 'WARNING'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + start_timeout
        while True:
            try:
                socket.create_connection(('127.0.0.1', port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f'the visdom server did not start on port {port} (exit code {proc.poll()})')
                time.sleep(0.3)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
