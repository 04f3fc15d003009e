"""Entry point of ``python -m fal._runtime``."""

import sys

from fal._runtime import main

sys.exit(main())
