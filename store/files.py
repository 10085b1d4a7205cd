"""Files only their owner can read. DATA_DIR and everything ThinkFirst writes (records, journal, lock, backups,
exports) hold safeguarding records and personal data, so every directory is made 0700 and every file 0600 whatever
the process's umask, and files that already existed with a looser mode are tightened when written."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_private_dir(path: Path) -> Path:
    """Create the directory (and parents) if need be and make it 0700; a looser one is tightened, with a warning."""
    path = Path(path)
    # mkdir applies the umask, and leaves an existing directory as it is: the explicit chmod below is what counts.
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode == PRIVATE_DIR_MODE:
        return path
    try:
        os.chmod(path, PRIVATE_DIR_MODE)
    except OSError as error:
        log.warning("%s can be read by other users (mode %03o) and could not be made private: %s", path, mode,
                    error)
        return path
    if mode & 0o077:
        log.warning("%s could be read by other users (mode %03o); it is now readable by its owner only (700)", path,
                    mode)
    return path


def open_private(path: Path, flags: int) -> int:
    """os.open creating the file if need be, mode 0600 whatever the umask, also when it existed with a looser mode."""
    fd = os.open(path, flags | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def make_private(path: Path, *, tree: bool = False) -> None:
    """Make an existing file 0600 or directory 0700 (with ``tree``, everything inside a directory too)."""
    path = Path(path)
    os.chmod(path, PRIVATE_DIR_MODE if path.is_dir() else PRIVATE_FILE_MODE)
    if tree and path.is_dir():
        for inner in path.rglob("*"):
            os.chmod(inner, PRIVATE_DIR_MODE if inner.is_dir() else PRIVATE_FILE_MODE)


def write_private(path: Path, data: bytes) -> None:
    """Write a whole file, 0600, in place (for copies kept for a person to look at, not for records)."""
    fd = open_private(path, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


@contextlib.contextmanager
def private_atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """Write a file that replaces ``path`` whole when the block ends: 0600, fsynced, renamed over it, dir fsynced.

    The temporary file beside it has a unique name and is removed if anything fails, so a failure (a full disk, an
    interrupted write, an error in the block) leaves the old file as it was and nothing else behind.
    """
    path = Path(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), PRIVATE_FILE_MODE)  # mkstemp's own mode is 0600; said here, not assumed
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    fsync_dir(path.parent)


def write_private_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` durably and privately (see ``private_atomic_writer``)."""
    with private_atomic_writer(path) as handle:
        handle.write(data)
