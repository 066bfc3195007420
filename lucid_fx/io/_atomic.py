"""Atomic file replacement with the hygiene of a plain ``open(path, "wb")``.

A write goes to a hidden temporary file beside the target, which is fsynced,
moved over the target with ``os.replace`` and followed by an fsync of the
folder. The writer holds an exclusive ``flock`` on its temporary file for the
whole write; a later save to the same path deletes the temporary files whose
lock it can take (their writer died: the kernel drops a dead process's locks)
and leaves those of live writers alone.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from typing import Any

try:  # POSIX; elsewhere writes stay atomic but stale files are not swept
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_SUFFIX = ".tmp"


def resolve(api: str, path: str | os.PathLike) -> str:
    """The file to write: symlinks followed, folder and target checked."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"{api}: path must be a str or os.PathLike, got {type(path).__name__}."
        )
    text = os.fspath(path)
    if not isinstance(text, str) or not text:
        raise ValueError(f"{api}: path is empty; pass a file name to write.")
    target = os.path.realpath(text)  # write a symlink's target, like open()
    folder = os.path.dirname(target)
    if os.path.isdir(target):
        raise IsADirectoryError(
            f"{api}: {text!r} is a directory; pass a file path inside it."
        )
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"{api}: the folder of {text!r} ({folder!r}) does not exist; create "
            f"it first."
        )
    return target


def resolve_folder(api: str, path: str | os.PathLike) -> str:
    """The folder of a sharded checkpoint (created if missing, like makedirs)."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(
            f"{api}: path must be a str or os.PathLike, got {type(path).__name__}."
        )
    text = os.fspath(path)
    if not isinstance(text, str) or not text:
        raise ValueError(f"{api}: path is empty; pass a folder for the shards.")
    folder = os.path.realpath(text)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise NotADirectoryError(
            f"{api}: {text!r} is a file; a sharded checkpoint is a folder."
        )
    return folder


def _prefix(target: str) -> str:
    return f".{os.path.basename(target)}."


def _lock(fd: int, blocking: bool) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def sweep_stale(target: str) -> list[str]:
    """Delete temporary files of ``target`` left by writers that died."""
    if fcntl is None:
        return []
    folder, prefix, removed = os.path.dirname(target), _prefix(target), []
    for name in os.listdir(folder):
        if not (name.startswith(prefix) and name.endswith(_SUFFIX)):
            continue
        path = os.path.join(folder, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue  # gone already, or not ours to open
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode) and _lock(fd, blocking=False):
                os.unlink(path)  # while locked: see _create
                removed.append(path)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def _create(target: str) -> tuple[int, str]:
    """A new locked temporary file, mode ``0o666 & ~umask`` as ``open`` gives."""
    folder, prefix = os.path.dirname(target), _prefix(target)
    while True:
        tmp = os.path.join(folder, f"{prefix}{secrets.token_hex(8)}{_SUFFIX}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        _lock(fd, blocking=True)
        # A sweeper unlinks only while holding the lock, so once we hold it a
        # still-linked file is ours for good; an unlinked one we start over.
        if os.fstat(fd).st_nlink:
            return fd, tmp
        os.close(fd)


def _keep_mode(fd: int, target: str) -> None:
    # Overwriting with open() keeps the old file's permissions; so do we.
    with contextlib.suppress(FileNotFoundError):
        os.fchmod(fd, stat.S_IMODE(os.stat(target).st_mode))


def _fsync_folder(folder: str) -> None:
    if os.name != "posix":  # pragma: no cover
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _named(api: str, err: OSError, target: Any) -> OSError:
    reason = err.strerror or str(err)
    new = type(err)(err.errno, f"{api}: could not write {target!r}: {reason}")
    if err.errno is None:
        new = type(err)(f"{api}: could not write {target!r}: {reason}")
    return new


def write(api: str, target: str, payload: bytes | memoryview) -> None:
    """Atomically make ``target`` hold ``payload`` (``target`` from resolve)."""
    sweep_stale(target)
    try:
        fd, tmp = _create(target)
    except OSError as err:
        raise _named(api, err, target) from err
    try:
        try:
            _keep_mode(fd, target)
            view = memoryview(payload)
            while view.nbytes:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            os.replace(tmp, target)
        finally:
            os.close(fd)
        _fsync_folder(os.path.dirname(target))
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise _named(api, err, target) from err
        raise
