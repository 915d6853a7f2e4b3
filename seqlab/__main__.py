"""``python -m seqlab``: the command line (also what ``torchrun -m seqlab`` starts per rank)."""

import sys

from seqlab.cli.main import main

sys.exit(main())
