#!/usr/bin/env python3
"""The Graph API cannot be reached, then comes back (outbox_scenarios.api_down), on SQLite:
the sender pauses without reading the outbox on every commit or charging rows attempts,
says so once, and delivers every reply in order per user once the API answers."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import outbox_scenarios

outbox_scenarios.api_down("wa-api-down")
outbox_scenarios.api_down("wa-api-down-nr", receipts=False)
