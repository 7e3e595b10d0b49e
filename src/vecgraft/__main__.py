"""`python -m vecgraft ...` (also what `torchrun -m vecgraft finetune ...` runs)."""

import sys

from vecgraft.cli import main

status = main()
# Why: a Ctrl-C whose KeyboardInterrupt passed through code a library ran from a string
# (`exec`/`eval` of source text), even though `main` caught it and returned 130, leaves
# CPython's "unhandled KeyboardInterrupt" flag set, and `python -m` then ends the process
# by SIGINT after a clean exit (status -2 to a parent, now and then: `tune --jobs 2`).
# Running any string resets that flag; the console script never had it (no runpy).
exec("")  # a constant empty string, run for the side effect above
sys.exit(status)
