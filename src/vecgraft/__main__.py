"""`python -m vecgraft ...` (also what `torchrun -m vecgraft finetune ...` runs)."""

import sys

from vecgraft.cli import main

sys.exit(main())
