"""`python -m bot.notify` (= `backtalk worker`): the notification delivery loop."""
import sys

from bot.notify.worker import main

sys.exit(main())
