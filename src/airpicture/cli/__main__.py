"""``python -m airpicture.cli``: the ``airpicture`` command (how node processes are started)."""

import sys

from airpicture.cli import main

sys.exit(main())
