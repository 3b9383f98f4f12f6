"""``python -m treernn`` (and ``torchrun ... -m treernn train ...``): the command line."""

import sys

from treernn.cli import main

sys.exit(main())
