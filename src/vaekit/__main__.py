"""`python -m vaekit`: the same as the `vaekit` command."""

import sys

try:  # a Ctrl-C even this early ends the command like any other interruption
    from vaekit.cli.main import entry
except KeyboardInterrupt:
    sys.stderr.write("vaekit: interrupted\n")
    sys.exit(130)

if __name__ == "__main__":
    entry()
