"""The running bot's lock: `restore` (and a second `run`) must know the bot is running.

The lock is an exclusive `flock` on a file beside the database (`<database>.lock`), held by
`commune-bot run` for as long as it runs. The kernel releases it when the process ends, however
it ends (a crash, `kill -9`, a power cut), so a lock file left behind never blocks anyone: what
counts is whether a live process holds the lock, not whether the file exists. The file holds the
holder's pid, for the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["AlreadyRunning", "RunLock"]


class AlreadyRunning(Exception):
    """Another process holds the lock; `pid` is its process id if it wrote one."""

    def __init__(self, path: Path, pid: int | None) -> None:
        super().__init__(f"{path} is locked by process {pid}")
        self.path = path
        self.pid = pid


class RunLock:
    """The lock on `<database>.lock`."""

    def __init__(self, database: Path) -> None:
        self.path = Path(f"{os.path.abspath(database)}.lock")
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock; AlreadyRunning if a live process holds it.

        Returns False, holding nothing, if the lock file cannot be created (the database's
        folder is missing or read-only): opening the database then fails with its own message.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunning(self.path, pid) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        """Let go of the lock (the file stays: a lock file without a holder means nothing)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def holder(self) -> tuple[bool, int | None]:
        """Whether a live process holds the lock now, and its pid if it wrote one; takes
        nothing that outlives the call (doctor asks, safe while the bot runs)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False, None  # no lock file: nobody has ever run here
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True, _read_pid(fd)
            return False, None  # closing the descriptor below lets go at once
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the body; AlreadyRunning if a live process holds it."""
        self.acquire()
        try:
            yield
        finally:
            self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
