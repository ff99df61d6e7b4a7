"""`python -m cce`."""

import sys

from .cli import main

sys.exit(main())
