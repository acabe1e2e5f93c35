"""`python -m autoscaler_pauser`: the same as the autoscaler-pauser command."""

import sys

from .cli import main

sys.exit(main())
