"""save behaves like ``open(path, "wb")`` made atomic: temp files, modes, links,
fsyncs and errors that name the target."""

import errno
import fcntl
import os
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lucid_fx
from lucid_fx.io import _atomic

W = {"w": np.arange(4, dtype=np.float32)}


def _temps(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _killed_save(path):
    """A process killed after writing its temp file, before the rename."""
    code = textwrap.dedent(f"""
        import os, numpy as np, lucid_fx
        from lucid_fx.io import _atomic
        real = _atomic.os.fsync
        def die(fd):
            real(fd)
            os._exit(9)
        _atomic.os.fsync = die
        lucid_fx.save({{"w": np.ones(1 << 16, np.float32)}}, {str(path)!r})
    """)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    done = subprocess.run([sys.executable, "-c", code], check=False, env=env)
    assert done.returncode == 9


def test_temp_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    path = tmp_path / "m.safetensors"
    lucid_fx.save(W, path)
    _killed_save(path)
    (stale,) = _temps(tmp_path)
    assert stale.startswith(".m.safetensors.")
    np.testing.assert_array_equal(lucid_fx.load(path)["w"], W["w"])  # old file
    lucid_fx.save(W, path)
    assert _temps(tmp_path) == []


def test_temp_of_a_live_writer_is_left_alone(tmp_path):
    # Another writer (same path, still writing) holds the lock on its temp file.
    path = tmp_path / "m.safetensors"
    busy = tmp_path / ".m.safetensors.0123456789abcdef.tmp"
    busy.write_bytes(b"partial")
    other = tmp_path / ".other.safetensors.0123456789abcdef.tmp"
    other.write_bytes(b"not ours")
    with open(busy, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        lucid_fx.save(W, path)
        assert busy.read_bytes() == b"partial"
    assert other.exists()  # another target's temp is never touched
    lucid_fx.save(W, path)  # the writer is gone now: swept
    assert not busy.exists() and other.exists()


def test_failed_write_removes_the_temp_and_names_the_target(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    lucid_fx.save(W, path)
    good = path.read_bytes()

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_atomic.os, "write", full)
    with pytest.raises(OSError) as info:
        lucid_fx.save({"w": np.zeros(9, np.float32)}, path)
    assert info.value.errno == errno.ENOSPC
    assert f"save: could not write {str(path)!r}: No space left" in str(info.value)
    assert ".tmp" not in str(info.value)
    assert path.read_bytes() == good and _temps(tmp_path) == []


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_file_mode_follows_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        lucid_fx.save(W, tmp_path / "m.safetensors")
        with open(tmp_path / "plain.bin", "wb"):
            pass
    finally:
        os.umask(old)
    mode = stat.S_IMODE(os.stat(tmp_path / "m.safetensors").st_mode)
    assert mode == 0o666 & ~umask
    assert mode == stat.S_IMODE(os.stat(tmp_path / "plain.bin").st_mode)


def test_overwriting_keeps_the_files_mode(tmp_path):
    path = tmp_path / "m.safetensors"
    lucid_fx.save(W, path)
    os.chmod(path, 0o640)
    lucid_fx.save({"w": np.zeros(2, np.float32)}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_a_symlinks_target_is_written(tmp_path):
    real_dir = tmp_path / "store"
    real_dir.mkdir()
    target = real_dir / "real.safetensors"
    lucid_fx.save(W, target)
    link = tmp_path / "latest.safetensors"
    link.symlink_to(target)
    lucid_fx.save({"w": np.zeros(3, np.float32)}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert lucid_fx.load(target)["w"].tolist() == [0.0, 0.0, 0.0]
    assert _temps(tmp_path) == [] and _temps(real_dir) == []


def test_a_dangling_symlink_creates_its_target(tmp_path):
    target = tmp_path / "new.safetensors"
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    lucid_fx.save(W, link)
    assert link.is_symlink() and lucid_fx.load(target)["w"].tolist() == [0, 1, 2, 3]


def test_folder_is_fsynced_after_the_rename(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    calls = []
    real = _atomic.os.fsync

    def spy(fd):
        calls.append((stat.S_ISDIR(os.fstat(fd).st_mode), path.exists()))
        real(fd)

    monkeypatch.setattr(_atomic.os, "fsync", spy)
    lucid_fx.save(W, path)
    # the file before the rename, then the folder after it
    assert calls == [(False, False), (True, True)]


def test_path_errors_name_the_target(tmp_path):
    missing = tmp_path / "no" / "such" / "m.safetensors"
    with pytest.raises(FileNotFoundError, match=r"save: the folder of .*no/such"):
        lucid_fx.save(W, missing)
    with pytest.raises(IsADirectoryError, match=f"save: {str(tmp_path)!r} is a dir"):
        lucid_fx.save(W, tmp_path)
    with pytest.raises(ValueError, match="save: path is empty"):
        lucid_fx.save(W, "")
    with pytest.raises(TypeError, match="save: path must be a str or os.PathLike"):
        lucid_fx.save(W, 3)
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_reserved_names_and_non_dict_metadata(tmp_path):
    path = tmp_path / "m.safetensors"
    with pytest.raises(ValueError, match="'__metadata__' is reserved"):
        lucid_fx.save({"__metadata__": np.ones(1, np.float32)}, path)
    with pytest.raises(TypeError, match="metadata must be a dict of str to str, got"):
        lucid_fx.save(W, path, metadata=["epoch", "3"])
    with pytest.raises(TypeError, match="metadata must be a dict"):
        lucid_fx.save(W, path, metadata="epoch=3")
    assert list(tmp_path.iterdir()) == []


def test_concurrent_writers_and_a_reader_never_see_a_torn_file(tmp_path):
    # Each writer's sweep must leave the other's in-flight temp file alone.
    import threading

    path = tmp_path / "m.safetensors"
    lucid_fx.save({"w": np.zeros(1024, np.float32)}, path)
    errors = []

    def write(value):
        try:
            for _ in range(25):
                lucid_fx.save({"w": np.full(1024, value, np.float32)}, path)
        except Exception as err:
            errors.append(err)

    def read():
        try:
            for _ in range(50):
                w = lucid_fx.load(path)["w"]
                assert len(set(w.tolist())) == 1  # one writer's whole array
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=write, args=(v,)) for v in (1.0, 2.0)]
    threads.append(threading.Thread(target=read))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert lucid_fx.load(path)["w"][0] in (1.0, 2.0) and _temps(tmp_path) == []
