import pytest

from vaekit.io import read_json, write_json, write_with_atomic


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"version": 1})

    def broken(path):
        path.write_text('{"version": 2, "half')
        raise RuntimeError("disk full, say")

    with pytest.raises(RuntimeError):
        write_with_atomic(target, broken)
    assert read_json(target) == {"version": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_failing_first_write_leaves_nothing(tmp_path):
    def broken(path):
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_with_atomic(tmp_path / "new.bin", broken)
    assert list(tmp_path.iterdir()) == []
