"""The `vaekit` command: parse, set up logging, run one command, turn errors into exit codes."""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from typing import NoReturn

from vaekit.errors import VaekitError
from vaekit.version import __version__

# command -> (module under vaekit.cli, help); main() imports only the module of the command
# it runs (build_parser(only=...)): some pull in scikit-learn or the web server, seconds of
# start-up that `vaekit train` has no use for
COMMANDS = {
    "train": ("train", "train a model and write a run directory"),
    "eval": ("evaluate", "ELBO, importance-weighted NLL and bits/dim on a split"),
    "sample": ("sample", "generate new examples from the prior"),
    "reconstruct": ("reconstruct", "originals next to their reconstructions"),
    "interpolate": ("interpolate", "decode a latent path between two examples"),
    "traverse": ("traverse", "vary one latent coordinate at a time"),
    "encode": ("encode", "posterior means/log-variances of a split to .npz"),
    "probe": ("probe", "linear-probe accuracy of the latent means, raw pixels and PCA"),
    "score": ("score", "per-example ELBO, NLL and anomaly score to CSV"),
    "compress": ("compress", "code images into a .vkz file (lossless bits-back, or lossy)"),
    "decompress": ("decompress", "restore the array a .vkz file was made from"),
    "bench-codecs": ("bench_codecs", "bits/dim of the model's code against generic codecs"),
    "report": ("report", "one self-contained HTML page: config, metrics, every picture"),
    "serve": ("serve", "the explorer: a local web page to play with the model"),
    "export": ("export", "encoder and decoder as ONNX graphs for onnxruntime"),
}

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a tool ended by SIGPIPE


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line, `vaekit: error: ...`, like every other error (exit 2)."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("vaekit").strip()
        hint = f" (see: vaekit {command + ' ' if command else ''}--help)"
        # under torchrun, only rank 0 says it: every rank parses the same flags
        shown = f"vaekit: error: {message}{hint}\n" if _rank() == 0 else None
        self.exit(EXIT_USER_ERROR, shown)


def build_parser(only: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line. Every command is listed; the flags are added (and the command's
    module imported) for the commands in `only`, or for all of them when it is None."""
    parser = OneLineParser(prog="vaekit", description="Variational autoencoders on PyTorch.")
    parser.add_argument("--version", action="version", version=f"vaekit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        if only is None or name in only:
            importlib.import_module(f"vaekit.cli.{module_name}").add_arguments(sub)
    return parser


def command_named(argv: Sequence[str]) -> list[str]:
    """The command argv asks for, as a list of at most one name: the first word that is not
    an option (the top-level options take no values). Empty for none or an unknown one,
    which argparse then reports without any command's module."""
    word = next((arg for arg in argv if not arg.startswith("-")), None)
    return [word] if word in COMMANDS else []


def command_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each command's own parser, by command name."""
    for action in parser._actions:  # argparse offers no public way to list subparsers
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def flag_names(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Internal field name (an argument's dest) -> the flag a user types, e.g.
    eval_limit -> --eval-limit; only multi-word names, which cannot be ordinary words."""
    return {
        action.dest: max(action.option_strings, key=len)
        for action in parser._actions
        if action.option_strings and "_" in action.dest
    }


def in_flag_terms(message: str, flags: dict[str, str]) -> str:
    """Replace the internal names of the command's flags in an error message by the flags."""
    for dest, flag in flags.items():
        message = re.sub(rf"(?<![\w.-]){re.escape(dest)}(?![\w-])", flag, message)
    return message


class InterruptWatch:
    """SIGINT as KeyboardInterrupt, as Python does by default, but remembered: a Ctrl-C
    that lands inside a third-party import can leave that module half-initialised, and the
    error that surfaces is then another one (seen: RecursionError from numpy's lazy
    attributes while sklearn was importing). After a Ctrl-C, any error is the interruption."""

    def __init__(self) -> None:
        self.received = False
        self.previous = None
        self.deferring = False

    def __enter__(self) -> InterruptWatch:
        try:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: leave signals alone
            self.previous = None
        return self

    def __exit__(self, *exc_info) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """A Ctrl-C inside the block is raised when the block ends, not where it lands.
        torch's imports run Python code under C++ (pybind11): a KeyboardInterrupt raised
        there ends the process with std::terminate and a C++ trace (seen at 0.5 s)."""
        self.deferring = True
        try:
            yield
        finally:
            self.deferring = False
        if self.received:
            raise KeyboardInterrupt

    def _handle(self, signum, frame) -> None:
        self.received = True
        if not self.deferring:
            raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every way it can end is an exit code, never a traceback."""
    started_unix = time.time()  # before any command's imports: the start of timings.json
    with InterruptWatch() as interrupts:
        try:
            argv = sys.argv[1:] if argv is None else list(argv)
            with interrupts.deferred():  # imports torch: Ctrl-C here is still an interruption
                parser = build_parser(only=command_named(argv))
            args = parser.parse_args(argv)
            args.started_unix = started_unix
            code = _run_command(args, flag_names(command_parsers(parser)[args.command]))
            sys.stdout.flush()  # a closed pipe shows here, inside the try, not at exit
            return code
        except KeyboardInterrupt:
            return _interrupted()
        except BrokenPipeError:
            return _quiet_broken_pipe()
        except SystemExit as exit_:  # argparse: --help, --version, a usage error
            return exit_.code if isinstance(exit_.code, int) else EXIT_USER_ERROR
        except Exception:
            if interrupts.received:
                return _interrupted()
            raise


def _interrupted() -> int:
    print("vaekit: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


def _run_command(args: argparse.Namespace, flags: dict[str, str]) -> int:
    logging.basicConfig(
        level=logging.WARNING, format="vaekit: %(levelname)s: %(message)s", stream=sys.stderr
    )
    if args.verbose:  # vaekit's own debug lines only, not every library's
        logging.getLogger("vaekit").setLevel(logging.DEBUG)
    # under torchrun every rank runs the same command: rank 0 speaks for all of them
    speaks = _rank() == 0
    if not speaks:
        logging.getLogger("vaekit").setLevel(logging.ERROR)
    module = importlib.import_module(f"vaekit.cli.{COMMANDS[args.command][0]}")
    try:
        return module.run(args)
    except VaekitError as err:
        if speaks:  # the other ranks meet the same error: one line is enough
            print(f"vaekit: error: {in_flag_terms(str(err), flags)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as err:
        if isinstance(err, BrokenPipeError) or err.errno == errno.EPIPE:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe") from None
        where = f": {err.filename}" if err.filename else ""
        print(f"vaekit: error: {err.strerror or err}{where}", file=sys.stderr)
        return EXIT_USER_ERROR


def _rank() -> int:
    """RANK as torchrun sets it; 0 for a command run on its own."""
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def _world_size() -> int:
    """WORLD_SIZE as torchrun sets it; 1 for a command run on its own."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def _quiet_broken_pipe() -> int:
    """The reader of our output went away (`vaekit eval | head`): stop quietly, as Unix tools
    do. stdout is pointed at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor
        pass
    return EXIT_BROKEN_PIPE


def entry() -> NoReturn:
    """The console script and `python -m vaekit`: exit with main()'s code.

    Once the command has returned and its output is flushed, the process ends with os._exit:
    the interpreter's teardown (finalizers of every module torch loaded) took 0.6 to 1.3 s
    after a training run and does nothing a finished command needs. Every file vaekit writes
    is closed (and renamed into place) before its command returns. Under torchrun the ranks
    exit the ordinary way: a rank gone at once would have torchrun stop the others before
    rank 0, which speaks for all of them, has printed its error line."""
    code = main()
    if _world_size() > 1:
        sys.exit(code)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader gone away, a closed stream
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
