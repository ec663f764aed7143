"""The default answer folder: one file per value function, bounded in age and size."""

import os
import time

import numpy as np

from spectrex import QueryEngine
from spectrex.engine.answers import answer_file, prune


class Scored:
    fingerprint = "toy-model@1"
    input_fingerprint = "text-a"

    def __call__(self, masks):
        return masks.sum(axis=1).astype(float)


def test_one_file_per_value_function_and_answers_reused(tmp_path):
    masks = np.random.default_rng(1).random((20, 6)) < 0.5
    for rerun in range(2):
        engine = QueryEngine(cache_folder=tmp_path, progress=False)
        query = engine.bind(Scored(), 6)
        query(masks)
        query.close()
        engine.close()
        assert engine.cache_files == [answer_file(tmp_path, "toy-model@1", "text-a", 6)]
        assert query.stats.sent == (len(np.unique(masks, axis=0)) if rerun == 0 else 0)
    other = Scored()
    other.input_fingerprint = "text-b"
    engine = QueryEngine(cache_folder=tmp_path, progress=False)
    engine.bind(other, 6).close()
    assert len(list(tmp_path.glob("*.sqlite"))) == 2


def test_a_function_without_fingerprint_is_not_kept(tmp_path):
    engine = QueryEngine(cache_folder=tmp_path, progress=False)
    query = engine.bind(lambda m: m.sum(axis=1).astype(float), 4)
    query(np.ones((3, 4), bool))
    assert query.cache is None and list(tmp_path.iterdir()) == []


def test_old_files_and_the_least_recently_used_beyond_the_size_are_removed(tmp_path):
    now = time.time()
    files = []
    for i, age_days in enumerate([40, 3, 2, 1]):
        path = tmp_path / f"{i:032x}.sqlite"
        path.write_bytes(b"x" * 1000)
        os.utime(path, (now - age_days * 86400, now - age_days * 86400))
        files.append(path)
    keep = files[1]  # the oldest of the recent ones, but in use now
    removed = prune(tmp_path, keep=keep, max_bytes=2000, max_age_s=30 * 86400)
    assert removed == 2
    assert [p.exists() for p in files] == [False, True, False, True]
