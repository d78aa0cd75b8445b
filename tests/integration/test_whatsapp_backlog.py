#!/usr/bin/env python3
"""Users writing faster than their number may send (outbox_scenarios.backlog), on SQLite:
the queue behind each user's oldest reply drains in order per user."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import outbox_scenarios

outbox_scenarios.backlog("wa-backlog")
