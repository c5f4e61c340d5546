"""``python -m signalbench.cli``."""

import sys

from signalbench.cli._main import main

sys.exit(main())
