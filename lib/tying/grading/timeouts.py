"""Stop reader code that runs too long, without killing the Python session.

:func:`time_limit` is a context manager.  When the time is up it raises
:class:`CheckTimeout` *inside* the running code, wherever it is, so an
infinite ``while`` loop in a reader's function ends and the grader reports the
status ``timeout``; the notebook's kernel keeps running.

Two mechanisms, chosen automatically:

- **POSIX signals** (Linux, macOS, Colab) in the main thread: ``signal.setitimer``
  and ``SIGALRM``.  This also interrupts blocking calls such as ``time.sleep``.
- **An asynchronous exception** everywhere else (Windows, or a check run from a
  thread other than the main one): a watchdog thread uses CPython's
  ``PyThreadState_SetAsyncExc`` to raise the exception in the checked thread.
  It takes effect at the next Python bytecode, so it stops Python loops but not
  a single long call into C.

:class:`CheckTimeout` derives from ``BaseException`` so that a reader's
``except Exception:`` does not swallow it, and the alarm repeats every
``repeat`` seconds until the block is left, in case a bare ``except:`` did.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import sys
import threading
from collections.abc import Iterator

__all__ = ["CheckTimeout", "time_limit", "signals_available"]


class CheckTimeout(BaseException):
    """Raised inside the code under a :func:`time_limit` when its time is up."""


def signals_available() -> bool:
    """True where the ``SIGALRM`` mechanism can be used (POSIX, main thread)."""
    return (
        hasattr(signal, "setitimer")
        and hasattr(signal, "SIGALRM")
        and threading.current_thread() is threading.main_thread()
    )


@contextlib.contextmanager
def time_limit(
    seconds: float | None, *, use_signals: bool | None = None, repeat: float = 0.05
) -> Iterator[None]:
    """Raise :class:`CheckTimeout` in the body if it runs longer than ``seconds``.

    Args:
        seconds: the limit; ``None`` or ``<= 0`` means no limit.
        use_signals: force (True) or forbid (False) the ``SIGALRM`` mechanism;
            by default it is used wherever :func:`signals_available` says so.
        repeat: after the first alarm, raise again every ``repeat`` seconds until
            the block is left (a reader's bare ``except:`` may have caught the first).

    Examples:
        >>> with time_limit(0.1):
        ...     try:
        ...         while True:
        ...             pass
        ...     except CheckTimeout:
        ...         print("stopped")
        stopped
    """
    if seconds is None or seconds <= 0:
        yield
        return
    if use_signals is None:
        use_signals = signals_available()
    if use_signals:
        with _signal_limit(seconds, repeat):
            yield
    elif _async_exc_available():
        with _thread_limit(seconds, repeat):
            yield
    else:  # pragma: no cover - e.g. PyPy off the main thread: run without a limit
        yield


@contextlib.contextmanager
def _signal_limit(seconds: float, repeat: float) -> Iterator[None]:
    state = {"active": True}

    def handler(signum, frame):
        if state["active"]:
            raise CheckTimeout(f"did not finish within {seconds:g} s")

    previous_handler = signal.signal(signal.SIGALRM, handler)
    previous_timer = signal.setitimer(signal.ITIMER_REAL, seconds, repeat)
    try:
        yield
    finally:
        state["active"] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        # Someone else's timer was running (e.g. an outer time_limit): give it back
        # what is left, approximately.
        if previous_timer[0] > 0:
            signal.setitimer(signal.ITIMER_REAL, previous_timer[0], previous_timer[1])


def _async_exc_available() -> bool:
    return sys.implementation.name == "cpython" and hasattr(ctypes, "pythonapi")


@contextlib.contextmanager
def _thread_limit(seconds: float, repeat: float) -> Iterator[None]:
    target = threading.get_ident()
    lock = threading.Lock()
    state = {"active": True}
    done = threading.Event()
    # No argtypes on the shared ctypes function object (other code may use it);
    # each argument is passed as an explicit ctypes value instead.
    set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc

    def watchdog():
        if done.wait(seconds):
            return
        while True:
            with lock:
                if not state["active"]:
                    return
                set_async_exc(ctypes.c_ulong(target), ctypes.py_object(CheckTimeout))
            if done.wait(repeat):
                return

    thread = threading.Thread(target=watchdog, name="tying-grading-watchdog", daemon=True)
    thread.start()
    try:
        yield
    finally:
        with lock:
            state["active"] = False
            done.set()
            # Clear an exception that was injected but has not been raised yet.
            set_async_exc(ctypes.c_ulong(target), ctypes.c_void_p(0))
        thread.join()
