"""python -m raftstore: the `raftstore` command."""

import sys

from .cli import main

sys.exit(main())
