#!/usr/bin/env python3
"""Run the cce command line from a checkout without installing it: `python cce.py index .`"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cce.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
