"""``python -m digitdesk`` runs the command-line interface."""

import sys

from digitdesk.cli import main

sys.exit(main())
