"""`python -m bot.tenants ...`: see `bot.tenants.cli`."""

import sys

from bot.tenants.cli import main

sys.exit(main())
