#!/usr/bin/env python3
"""The outbox scenarios of test_whatsapp_api_down and test_whatsapp_backlog on PostgreSQL,
whose sender claims rows with a lease: a row whose request could not reach the Graph API
is handed back at once (not left to its lease), and the queues behind each user's oldest
reply drain in order per user. Skipped without LOKET_TEST_PG."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import lkt
import outbox_scenarios

outbox_scenarios.api_down("pg-wa-api-down", db=lkt.pg_database("apidown"), receipts=False)
outbox_scenarios.backlog("pg-wa-backlog", db=lkt.pg_database("backlog"))
