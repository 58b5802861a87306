"""The bounds of ganmut.cache (bytes) and webapp.disk and webapp.pools (disk, lanes, clients) (no timing: every wait is released by the test)."""
from __future__ import annotations

import contextvars
import os
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image

from ganmut.cache import ByteLRU, nbytes
from webapp.disk import DiskBudget
from webapp.pools import LowPriorityPool, PerClient, TooMany


def test_nbytes_counts_arrays_tensors_and_images():
    assert nbytes(np.zeros((10, 10), np.float32)) == 400
    assert nbytes(torch.zeros(3, 4, dtype=torch.float64)) == 96
    assert nbytes(Image.new("RGB", (10, 20))) == 800  # PIL keeps RGB pixels in 4 bytes
    assert nbytes(Image.new("L", (10, 20))) == 200
    assert nbytes(Image.new("I;16", (10, 20))) == 400
    assert nbytes([np.zeros(5, np.uint8), (torch.zeros(2),), {"a": np.zeros(3, np.uint8)}], "text", None) == 16


def test_byte_lru_evicts_the_least_recently_used_by_bytes():
    lru: ByteLRU[str, bytes] = ByteLRU(100, len)
    assert lru.put("a", b"x" * 40) and lru.put("b", b"x" * 40)
    assert lru.get("a") is not None  # a is now the most recently used
    assert lru.put("c", b"x" * 40)  # 120 > 100: b goes
    assert "b" not in lru and "a" in lru and "c" in lru and len(lru) == 2 and lru.nbytes == 80
    assert lru.put("a", b"x" * 10) and lru.nbytes == 50  # replacing counts the new size only
    assert not lru.put("d", b"x" * 101) and "d" not in lru and lru.nbytes == 50  # too large alone: not kept
    assert not lru.put("a", b"x" * 101) and "a" not in lru  # and the key's old value is dropped
    assert lru.pop("c") == b"x" * 40 and lru.pop("c") is None and lru.nbytes == 0 and len(lru) == 0


def _file(path, size: int, age_s: float) -> str:
    """A file of ``size`` bytes and age ``age_s``, made beside the folder and moved in whole, so that a
    sweeper running meanwhile never sees it half made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.parent.parent / f".staged-{path.parent.name}-{path.name}"
    staged.write_bytes(os.urandom(size))
    t = time.time() - age_s
    os.utime(staged, (t, t))
    os.replace(staged, path)
    return str(path)


def test_disk_budget_keeps_a_folder_under_its_cap(tmp_path):
    kb = 1024
    files = [_file(tmp_path / f"h{i:02d}" / "out.png", 64 * kb, age_s=100 - i) for i in range(20)]  # oldest first
    kept = files[0]
    forgotten: set[str] = set()
    budget = DiskBudget([tmp_path], max_bytes=800 * kb, target_bytes=400 * kb, max_age_s=3600,
                        keep=lambda: {kept}, forget=forgotten.update)
    assert budget.usage() >= 20 * 64 * kb
    budget.sweep()
    left = sorted(str(p) for p in tmp_path.rglob("*") if p.is_file())
    assert budget.usage() <= 400 * kb
    assert kept in left and files[-1] in left and files[1] not in left  # the oldest go first, kept files stay
    assert forgotten == set(files) - set(left)
    assert (tmp_path / "h01").is_dir()  # emptied just now: kept a minute, as a writer may be about to use it
    for folder in tmp_path.iterdir():
        os.utime(folder, (time.time() - 61,) * 2)
    budget.sweep()
    assert not (tmp_path / "h01").exists() and (tmp_path / "h19").is_dir() and tmp_path.is_dir()


def test_disk_budget_deletes_old_files_and_admits_only_what_fits(tmp_path):
    kb = 1024
    old = _file(tmp_path / "old.bin", kb, age_s=4000)
    new = _file(tmp_path / "new.bin", kb, age_s=10)
    budget = DiskBudget([tmp_path], max_bytes=100 * kb, max_age_s=3600)
    budget.sweep()
    assert not os.path.exists(old) and os.path.exists(new)
    assert budget.admit(60 * kb)  # reserved: 4 (a block) + 60 of 100 kB
    assert not budget.admit(60 * kb)  # 124 > 100, and a sweep finds nothing to delete past half the cap
    _file(tmp_path / "upload.bin", 60 * kb, age_s=5)  # the admitted upload, written:
    budget.done(60 * kb)  # counted until a sweep measures it
    _file(tmp_path / "newest.bin", 4 * kb, age_s=0)
    assert budget.admit(30 * kb)  # 4 + 60 + 30 = 94
    assert os.path.exists(new)
    assert budget.admit(40 * kb)  # 134 > 100: a sweep deletes the oldest down to half the cap, then 4 + 30 + 40
    assert not os.path.exists(new) and not os.path.exists(tmp_path / "upload.bin")
    assert os.path.exists(tmp_path / "newest.bin")


def test_disk_budget_run_sweeps_until_stopped(tmp_path):
    budget = DiskBudget([tmp_path], max_bytes=10_000, target_bytes=0, max_age_s=3600)
    thread = threading.Thread(target=budget.run, args=(0.01,))
    thread.start()
    try:
        for _ in range(3):
            path = _file(tmp_path / "x.bin", 5000, age_s=0)
            while os.path.exists(path):  # released by the next sweep
                time.sleep(0.01)
    finally:
        budget.stop()
        thread.join(30)
    assert not thread.is_alive()


def test_low_priority_pool_runs_at_lower_priority_in_the_callers_context():
    pool = LowPriorityPool(workers=2, nice=7, name="test-low")
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    var.set("caller")

    def probe(x: int) -> tuple[str, int, str, int]:
        return threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), var.get(), 2 * x

    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    name, nice, value, doubled = pool.run(probe, 21)
    assert name.startswith("test-low") and nice == min(19, mine + 7) and value == "caller" and doubled == 42
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine  # the caller's own priority is untouched
    with pytest.raises(ZeroDivisionError):
        pool.run(lambda: 1 / 0)


def test_per_client_limit():
    limit = PerClient(2)
    with limit.hold("a"), limit.hold("a"):
        with pytest.raises(TooMany):
            with limit.hold("a"):
                pass
        with limit.hold("b"):
            pass
    with limit.hold("a"), limit.hold("a"):  # released: two again
        pass
