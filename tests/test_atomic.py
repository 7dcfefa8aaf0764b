"""Atomic writes: the target appears whole or not at all."""

import stat

import pytest

from mnist_ae.atomic import atomic_write


def test_atomic_write_replaces_the_target_only_when_the_block_succeeds(tmp_path):
    path = tmp_path / "sub" / "result.json"
    with atomic_write(path) as tmp:
        assert tmp.parent == path.parent and tmp.suffix == ".json" and tmp != path
        assert not path.exists()  # nothing at the target while the block runs
        tmp.write_text('{"a": 1}')
    assert path.read_text() == '{"a": 1}'
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]


def test_atomic_write_keeps_the_previous_file_when_the_writer_fails(tmp_path):
    path = tmp_path / "fig.png"
    path.write_bytes(b"previous")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("disk full")
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]
