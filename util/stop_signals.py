"""Pre-emption: SIGINT and SIGTERM ask train.py and test.py to stop cleanly instead of dying mid-step.

SLURM (pre-emption, time limit), ``kill -TERM -- -PGID``, torchrun's agent and Ctrl-C in a terminal signal every
process of the job, the data loader's worker processes included. The workers ignore both signals
(:func:`ignore_in_worker`, the loaders' ``worker_init_fn``), so they keep serving batches while the main process
finishes its iteration, saves (train.py) or writes the results page (test.py), and exits with
:func:`exit_status`: 128 + the signal number (130 after SIGINT, 143 after SIGTERM), what a shell reports for a
process the signal killed, so a job script tells "stopped, resume me" from "finished" (0) and "failed" (1, 2).
"""
import os
import signal
import sys
import threading

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_status(signum):
    return 128 + int(signum)


def signal_name(signum):
    return signal.Signals(signum).name


def ignore_in_worker(worker_id):
    """DataLoader ``worker_init_fn``: a worker leaves the stop signals to the main process, which stops it through
    the loader when it is done.

    torch's own rule for a worker is kept for the SIGTERM its main process sends (``terminate()`` when shutting
    down, also at exit after an error): it ends the worker. A SIGTERM from anyone else (SLURM, torchrun's agent,
    ``kill -- -PGID``) is ignored instead of fatal. Python handlers cannot see the sender, so SIGTERM is blocked
    in the worker (threads started later inherit the mask) and a thread reads each one with its sender; where
    that is not available (macOS has no sigwaitinfo) SIGTERM keeps torch's handling.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not hasattr(signal, 'sigwaitinfo'):
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    threading.Thread(target=_end_on_sigterm_from, args=(os.getppid(),), daemon=True,
                     name='sigterm-from-main-process').start()


def _end_on_sigterm_from(parent_pid):
    while True:
        if signal.sigwaitinfo({signal.SIGTERM}).si_pid == parent_pid:
            os._exit(0)  # what torch's worker handler does for its parent's SIGTERM


class StopNow(KeyboardInterrupt):
    """A second stop signal: leave at once, without saving (a KeyboardInterrupt, so no ``except Exception``
    on the way swallows it)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class StopRequest:
    """Inside ``with StopRequest() as stop:`` the first SIGINT/SIGTERM only records its number in ``stop.signum``;
    the loop checks it between iterations and stops there.

    A later SIGINT (Ctrl-C pressed again) raises :class:`StopNow`. A repeated SIGTERM does not: under SLURM with
    torchrun each worker receives the job's SIGTERM and the copy torchrun's agent forwards, one request; what
    stops at once there is the SIGKILL that follows the grace period. Handlers are set from the main thread only
    (the only one Python delivers signals to); elsewhere the request never arrives and the code runs unchanged.
    """

    def __init__(self):
        self.signum = 0
        self.previous = {}

    @property
    def requested(self):
        return self.signum != 0

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signum and signum == signal.SIGINT:
            raise StopNow(signum)
        if self.signum:
            return
        self.signum = signum
        # nothing printed through sys.stderr here: the interrupted code may be in the middle of writing to it
        if sys.stderr is not None and sys.stderr.isatty():
            os.write(sys.stderr.fileno(), f'\n{signal_name(signum)} received: stopping after this step '
                                          f'(Ctrl-C again stops at once)\n'.encode())

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        self.previous = {}
