"""``python -m behest_lab`` runs the CLI."""

import sys

from behest_lab.cli import main

sys.exit(main())
