#!/usr/bin/env python3
"""One reconcile run of autoscaler-pauser: the entry point cron, systemd and the README name.

`python reconcile.py --help` lists the commands; the code is in the autoscaler_pauser package.
Exit codes (`--help` lists them): 0 done or skipped, 1 AWS or runtime failure, 2 bad config or
usage or a missing Python package, 3 paused for longer than max_pause_minutes.
"""

import sys

from autoscaler_pauser.cli import main

if __name__ == "__main__":
    sys.exit(main())
