"""Replacing a run folder safely: a lock beside it, a staging folder beside it, an atomic swap.

A run folder ``DIR`` is never written in place. :func:`simulator.publish.runfolder.write_run`

1. takes an exclusive lock on ``PARENT/.DIR.lock`` (:func:`locked`), so two runs into the same
   folder take turns; the second waits (up to :data:`LOCK_TIMEOUT_S`, with a logged message),
   then fails with an :class:`~hazards.errors.ExportError` naming the lock file;
2. tidies what an interrupted run left (:func:`tidy`): staging folders ``.DIR.tmp-PID-XXXXXXXX``
   and set-aside folders ``.DIR.old-PID-XXXXXXXX``; if ``DIR`` itself is missing because a run
   was killed between the two renames of the portable swap, the set-aside old run is put back;
3. writes every file into a fresh staging folder (:func:`staging`), ``manifest.json`` last, and
   flushes them to disk (:func:`fsync_tree`);
4. swaps the staging folder in (:func:`swap_in`): on Linux one ``renameat2(RENAME_EXCHANGE)``
   call exchanges the two folders atomically, so ``DIR`` is always a complete run; elsewhere the
   old folder is renamed aside and the new one renamed in (a crash between the two renames leaves
   ``DIR`` missing and the old run in ``.DIR.old-*``, which the next run puts back). The old run
   is then deleted, so nothing from it survives.

The lock file stays (removing it would let a waiting process lock a file no one else sees); the
operating system releases the lock when the process holding it dies, even under ``kill -9``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from hazards.errors import ExportError

logger = logging.getLogger(__name__)

__all__ = [
    "LOCK_TIMEOUT_S", "RUN_FILE", "check_replaceable", "fsync_file", "fsync_tree", "leftovers", "lock_path",
    "replace_folder",
    "locked", "staging", "swap_in", "tidy",
]

#: Seconds a run waits for another run writing the same folder before giving up.
LOCK_TIMEOUT_S = 300.0
_POLL_S = 0.2

#: Names of the files a run folder holds (``hazard.tif``, ``hazard2.tif``...).
RUN_FILE = re.compile(
    r"(plan\.json|plan\.xlsx|households\.parquet|manifest\.json|quarantine\.csv|hazard\d*\.tif)"
)
#: Files others leave in a folder that a rerun may delete with it (GIS sidecars, desktop
#: indexes, Office lock files).
_JUNK = re.compile(r"(hazard\d*\.tif\.(aux\.xml|ovr)|\.DS_Store|Thumbs\.db|desktop\.ini|~\$.*)")


def lock_path(out: Path) -> Path:
    """The lock file of run folder ``out``: ``PARENT/.NAME.lock``."""
    return out.parent / f".{out.name}.lock"


def _leftover_re(out: Path) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(out.name)}\.(tmp|old)-\d+-[0-9a-f]{{8}}")


def leftovers(out: Path) -> list[Path]:
    """Staging (``.NAME.tmp-*``) and set-aside (``.NAME.old-*``) folders of ``out`` left by an
    interrupted run, oldest first."""
    if not out.parent.is_dir():
        return []
    pattern = _leftover_re(out)
    found = []
    for path in out.parent.iterdir():
        if pattern.fullmatch(path.name):
            try:
                found.append((path.lstat().st_mtime, path.name, path))
            except FileNotFoundError:  # renamed or deleted meanwhile by the run it belongs to
                continue
    return [path for *_, path in sorted(found)]


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        with contextlib.suppress(OSError):
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


@contextlib.contextmanager
def locked(out: Path, *, timeout: float = LOCK_TIMEOUT_S) -> Iterator[Path]:
    """Hold the exclusive lock of run folder ``out`` (see :func:`lock_path`).

    Parameters
    ----------
    out : Path
        The run folder; its parent must exist.
    timeout : float
        Seconds to wait for another run holding the lock.

    Yields
    ------
    Path
        The lock file.

    Raises
    ------
    ExportError
        Another run still holds the lock after ``timeout`` seconds.
    """
    path = lock_path(out)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ExportError(
            f"{path}: cannot create the lock file of run folder {out} ({exc.strerror}); "
            "choose an --out in a folder you can write to."
        ) from exc
    try:
        deadline = time.monotonic() + timeout
        waited = False
        while not _try_lock(fd):
            if not waited:
                logger.warning(
                    "%s: another run is writing this folder%s; waiting up to %g s for it to "
                    "finish (lock file %s).", out, _holder(path), timeout, path,
                )
                waited = True
            if time.monotonic() >= deadline:
                raise ExportError(
                    f"{out}: another run is still writing this folder{_holder(path)} after "
                    f"{timeout:g} s (lock file {path}). Wait for it to finish, or write to "
                    "another --out."
                )
            time.sleep(_POLL_S)
        if waited:
            logger.info("%s: the other run finished; writing now.", out)
        with contextlib.suppress(OSError):  # who holds it, for the message of a waiting run
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        try:
            yield path
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    """Delete a folder that is no longer a run folder (a staging or set-aside one)."""
    def failed(_func, name, exc):
        if isinstance(exc, tuple):  # onerror's exc_info
            exc = exc[1]
        logger.warning("%s: could not delete (%s); the next run into this folder deletes it.",
                       name, exc)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=failed)
    else:
        shutil.rmtree(path, onerror=failed)


def tidy(out: Path) -> None:
    """Clean up after an interrupted run into ``out``; call it holding :func:`locked`.

    When ``out`` is missing but a set-aside old run (``.NAME.old-*``) exists, a run was killed
    between the two renames of the portable swap: the old run is renamed back. Every other
    staging or set-aside folder is deleted.
    """
    found = leftovers(out)
    if not os.path.lexists(out):
        aside = [p for p in found if ".old-" in p.name]
        if aside:
            os.rename(aside[-1], out)
            logger.warning("%s: a run into it was interrupted while swapping; put the earlier "
                           "run back from %s.", out, aside[-1].name)
            found.remove(aside[-1])
    for path in found:
        logger.info("%s: deleting %s, left by an interrupted run.", out, path.name)
        _remove(path)


def check_replaceable(out: Path, allowed: re.Pattern[str] = RUN_FILE, what: str = "a run") -> None:
    """Refuse to replace ``out`` when it is a file or holds files other than the ``allowed``
    names (a run folder's by default; ``what`` names the writer in the message).

    A rewrite replaces the whole folder, so anything else in it would be deleted.

    Raises
    ------
    ExportError
        Naming the file or the foreign files, and how to proceed.
    """
    if not os.path.lexists(out):
        return
    if not out.is_dir():
        raise ExportError(f"{out}: is a file, not a folder; give --out a folder name.")
    foreign = sorted(
        p.name + ("/" if p.is_dir() else "")
        for p in out.iterdir()
        if p.is_dir() or not (allowed.fullmatch(p.name) or _JUNK.fullmatch(p.name))
    )
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ExportError(
            f"{out}: holds {shown}, which {what} does not write; {what} replaces the whole "
            "folder and would delete them. Move them elsewhere, or give --out a new folder."
        )


def replace_folder(out: str | Path, write, *, allowed: re.Pattern[str] = RUN_FILE, what: str = "a run",
                   lock_timeout: float = LOCK_TIMEOUT_S):
    """Replace folder ``out`` whole: under its lock (:func:`locked`), tidy what an interrupted
    writer left (:func:`tidy`), refuse a folder holding other files (:func:`check_replaceable`
    with ``allowed`` and ``what``), call ``write(stage, target)`` to fill a fresh staging folder
    (it should flush its files, e.g. :func:`fsync_tree`), and swap it in (:func:`swap_in`); the
    staging folder is removed if anything fails. Returns what ``write`` returned.

    Raises
    ------
    ExportError
        ``out`` is the root, a file, or holds other files, or another writer still holds the
        lock after ``lock_timeout`` seconds.
    """
    with staged(out, allowed=allowed, what=what, lock_timeout=lock_timeout) as (stage, target):
        return write(stage, target)


@contextlib.contextmanager
def staged(out: str | Path, *, allowed: re.Pattern[str] = RUN_FILE, what: str = "a run",
           lock_timeout: float = LOCK_TIMEOUT_S) -> Iterator[tuple[Path, Path]]:
    """:func:`replace_folder` as a context: yields ``(stage, target)`` holding the lock, with
    ``out`` tidied and checked; the staging folder is swapped in when the block ends, or removed
    if it raises."""
    given = Path(out)
    target = given.resolve()
    if not target.name:
        raise ExportError(f"{given}: cannot be an output folder (it is the root); give --out a folder name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    with locked(target, timeout=lock_timeout):
        tidy(target)
        check_replaceable(target, allowed, what)
        stage = staging(target)
        try:
            yield stage, target
            swap_in(stage, target)
        except BaseException:
            if stage.exists():
                shutil.rmtree(stage, ignore_errors=True)
            raise


def staging(out: Path) -> Path:
    """A new empty staging folder beside ``out``: ``PARENT/.NAME.tmp-PID-XXXXXXXX``."""
    while True:
        path = out.parent / f".{out.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.mkdir(path)
        except FileExistsError:  # pragma: no cover - 2**32 names
            continue
        return path


def _fsync_dir(path: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover - directories cannot be opened there
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    """Flush one written file to disk."""
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def fsync_tree(folder: Path) -> None:
    """Flush every file of ``folder`` and the folder itself to disk."""
    for path in folder.iterdir():
        if path.is_file():
            fsync_file(path)
    _fsync_dir(folder)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two existing paths (Linux ``renameat2(RENAME_EXCHANGE)``); False
    where the system or file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):  # pragma: no cover - glibc < 2.28, musl
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(stage: Path, out: Path) -> None:
    """Make the complete staging folder ``stage`` the run folder ``out`` and delete the old one.

    At every instant ``out`` is the complete old run or the complete new one (on Linux; elsewhere
    see the module notes), plus at most a staging or set-aside folder :func:`tidy` removes.
    """
    if not os.path.lexists(out):
        os.rename(stage, out)
        _fsync_dir(out.parent)
        return
    if _exchange(stage, out):
        _fsync_dir(out.parent)
        _remove(stage)  # now holds the old run
        return
    aside = out.parent / f".{out.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
    os.rename(out, aside)
    try:
        os.rename(stage, out)
    except BaseException:
        os.rename(aside, out)
        raise
    _fsync_dir(out.parent)
    _remove(aside)
