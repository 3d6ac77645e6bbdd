"""SHA-256 of input files (every manifest records them), and hashing a file ahead of time or as it is written.

A 35 M-household registry is a 1 GB file whose hash takes 2 s. :func:`hash_ahead` starts it on a
thread of its own while the program is still importing its modules (``madad run --registry``,
see :mod:`simulator.cli`), so that one core is not idle then and busy later;
:func:`file_sha256` of the same unchanged file then waits for that digest instead of reading
the file again. :func:`follow` hashes an output while it is written (a run's household table),
so that its digest is ready when the writing ends. Only this module's standard-library imports
are needed.
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import Future
from pathlib import Path

#: Files hashed ahead: real path -> (the file's stamp when started, Future of the digest or None).
_AHEAD: dict[str, tuple[tuple[int, ...], Future]] = {}
_LOCK = threading.Lock()


def _stamp(path: str | Path) -> tuple[int, ...]:
    """What changes when a file is replaced or written: device, inode, size, modification time."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


#: Bytes read per step [bytes]. Each step takes Python's lock twice (the read and the hash
#: release it): with small steps a hash beside busy Python code waits on the lock more than it
#: works (1 MiB steps took a 1 GB registry's hash from 0.9 s to 8 s while modules imported).
BLOCK = 16 << 20


def _feed(digest, file: str | Path) -> None:
    buffer = bytearray(BLOCK)
    view = memoryview(buffer)
    with open(file, "rb", buffering=0) as fh:
        while True:
            n = fh.readinto(view)
            if not n:
                break
            digest.update(view[:n])


def hash_ahead(path: str | Path) -> None:
    """Start hashing the file ``path`` on a daemon thread and return at once (nothing for a
    folder or a missing file). A digest made ahead is used only if the file's stamp (device,
    inode, size, modification time) is the same before, after and when it is asked for."""
    try:
        real = os.path.realpath(path)
        if not os.path.isfile(real):
            return
        stamp = _stamp(real)
    except OSError:
        return
    future: Future = Future()
    with _LOCK:
        if real in _AHEAD:
            return
        _AHEAD[real] = (stamp, future)

    def work() -> None:
        try:
            digest = hashlib.sha256()
            _feed(digest, real)
            future.set_result(digest.hexdigest() if _stamp(real) == stamp else None)
        except BaseException:  # noqa: BLE001 - file_sha256 then reads the file itself
            future.set_result(None)

    threading.Thread(target=work, name="madad-hash-ahead", daemon=True).start()


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in blocks of :data:`BLOCK` bytes; of a directory (a Zarr store), of its tree.

    A directory's digest covers every file under it, in sorted order of relative POSIX path:
    for each, the path, a NUL byte, the file's size (8 bytes, big-endian) and its bytes. It does
    not depend on the directory's own name or place, on timestamps or on the listing order. A
    file hashed ahead (:func:`hash_ahead`) and unchanged since gives that digest.
    """
    digest = hashlib.sha256()
    path = Path(path)
    if not path.is_dir():
        real = os.path.realpath(path)
        with _LOCK:
            ahead = _AHEAD.get(real)
        if ahead is not None:
            stamp, future = ahead
            done = future.result()
            try:
                if done is not None and _stamp(real) == stamp:
                    return done
            except OSError:
                pass
        _feed(digest, path)
        return digest.hexdigest()
    files = sorted(
        (p.relative_to(path).as_posix(), p) for p in path.rglob("*") if p.is_file()
    )
    for rel, file in files:
        digest.update(rel.encode("utf-8") + b"\0" + file.stat().st_size.to_bytes(8, "big"))
        _feed(digest, file)
    return digest.hexdigest()


#: How long :func:`follow` waits before looking again for bytes not yet written [s].
FOLLOW_POLL_S = 0.05


def follow(path: str | Path, written: threading.Event) -> Future:
    """Hash a file while another thread writes it, front to back (an append-only writer such
    as Parquet's): a daemon thread reads what is already there, in blocks of :data:`BLOCK`
    bytes, waits when it has caught up, and reads to the end once ``written`` is set. Returns a
    Future of the hex SHA-256: the digest of the whole file, as a second read would give it,
    done moments after the writing ends instead of a read of the whole file after it. The
    Future fails (:class:`OSError`) if the file is shorter than the bytes hashed when it ends
    (it was rewritten, not appended), or if it never appears."""
    future: Future = Future()

    def work() -> None:
        try:
            while not os.path.exists(path):  # the writer creates it when its first bytes are ready
                if written.wait(FOLLOW_POLL_S) and not os.path.exists(path):
                    raise FileNotFoundError(f"{path}: not written")
            digest = hashlib.sha256()
            buffer = bytearray(BLOCK)
            view = memoryview(buffer)
            seen = 0
            with open(path, "rb", buffering=0) as fh:
                while True:
                    ended = written.is_set()  # before the read: what follows it is the last read
                    n = fh.readinto(view)
                    if n:
                        digest.update(view[:n])
                        seen += n
                    elif ended:
                        break
                    else:
                        written.wait(FOLLOW_POLL_S)
            size = os.stat(path).st_size
            if size != seen:
                raise OSError(f"{path}: {size} bytes on disk, {seen} hashed while it was written")
            future.set_result(digest.hexdigest())
        except BaseException as exc:  # noqa: BLE001 - the caller gets it from the Future
            future.set_exception(exc)

    threading.Thread(target=work, name="madad-hash-follow", daemon=True).start()
    return future
