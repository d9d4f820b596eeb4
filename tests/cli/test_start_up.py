"""What a user's `time vaekit train` pays for outside the steps: start-up imports and the
phase breakdown in timings.json."""

import json
import subprocess
import sys

from vaekit.cli.main import COMMANDS, command_named

FIT_PHASES = ("steps", "validation", "checkpoints")


def test_timings_json_accounts_for_the_run(digits_run):
    payload = json.loads((digits_run / "timings.json").read_text())
    seconds = payload["seconds"]
    for phase in ("start-up", "data", "setup", *FIT_PHASES, "fit other", "pictures"):
        assert seconds[phase] >= 0, (phase, seconds)
    assert seconds["steps"] > 0 and seconds["validation"] > 0 and seconds["checkpoints"] > 0
    # the phases are consecutive stretches of one clock: together within the total
    assert sum(seconds.values()) <= payload["total_seconds"] + 1e-3
    # each epoch's seconds in metrics.csv are steps only: all of them fit inside "steps"
    lines = (digits_run / "metrics.csv").read_text().splitlines()
    column = lines[0].split(",").index("epoch_seconds")
    epoch_seconds = sum(float(line.split(",")[column]) for line in lines[1:])
    assert epoch_seconds <= seconds["steps"] + 1e-3


def test_command_named_picks_the_first_word():
    assert command_named(["-v", "train", "--data", "digits"]) == ["train"]
    assert command_named(["--help"]) == []
    assert command_named(["tran", "--epochs", "1"]) == []  # argparse reports it, no import
    assert set(COMMANDS) >= {"train", "eval"}


def test_help_imports_no_torch_and_train_no_sklearn():
    """`vaekit --help` lists the commands without importing any of them; `vaekit train`
    builds its own flags only, without scikit-learn, scipy or the web server."""
    script = (
        "import sys\n"
        "from vaekit.cli.main import build_parser, main\n"
        "code = main(['--help'])\n"
        "assert code == 0 and 'torch' not in sys.modules, code\n"
        "build_parser(only=['train']).parse_args(['train', '--epochs', '1'])\n"
        "heavy = [m for m in ('sklearn', 'scipy', 'vaekit.serve', 'matplotlib') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
