"""benchmarks/quality.py --merge-from names the run that trained each carried-over row, even
when the file it merges from had itself carried that row over from an older run."""

from __future__ import annotations

from benchmarks.quality import EARLIER_RUN, carried_origin


def _results(command: str, carried_from: str | None, best_carried: bool) -> dict:
    run = {"command": command}
    if carried_from is not None:
        run[EARLIER_RUN] = carried_from
    rows = {"preset fast": {}, "preset best": {"earlier": True} if best_carried else {}}
    return {"run": run, "binarized": rows}


def test_a_row_the_earlier_run_trained_names_that_run() -> None:
    earlier = _results("quality --presets fast best", None, best_carried=False)
    assert carried_origin(earlier, ["fast"]) == "quality --presets fast best"


def test_a_row_carried_twice_names_the_run_that_trained_it() -> None:
    earlier = _results("quality --presets fast --merge-from x", "quality (2 h)", best_carried=True)
    assert carried_origin(earlier, ["fast"]) == "quality (2 h)"


def test_rows_from_two_runs_name_both() -> None:
    earlier = _results("quality --presets fast --merge-from x", "quality (2 h)", best_carried=True)
    assert carried_origin(earlier, []) == "quality --presets fast --merge-from x; quality (2 h)"


def test_the_older_name_of_the_line_is_read_too() -> None:
    earlier = _results("quality --presets fast", None, best_carried=True)
    earlier["run"]["rows marked *, and the curve, come from"] = "quality (1 h)"
    assert carried_origin(earlier, ["fast"]) == "quality (1 h)"


def test_compression_sections_name_the_run_that_measured_them() -> None:
    from benchmarks.compression import carried_origins

    full, eight_bit = {"command": "compression"}, {"command": "compression --sections 8-bit"}
    # the 8-bit run had carried the binarized section over from the full run
    earlier = {"run": eight_bit, "carried_over": {"sections": ["binarized"], "run": full}}
    assert carried_origins(earlier, ["binarized", "8-bit"]) == [
        {"sections": ["binarized"], "run": full},
        {"sections": ["8-bit"], "run": eight_bit},
    ]
    assert carried_origins({}, []) == []
