#!/usr/bin/env python3
"""Prints issue 19's ratios from one bench.sh run's results file.

Each line of the file is "<engine> <kind> <what> <rate>": kind `static` (the static file at 64
connections, the ceiling), `page` (a signed-in contact's page at 64 connections), `staff` (a
clerk's page at 16), `webhooks` (payments per second at <what> deliveries in flight) or `pgbench`
(TPC-B transactions per second at <what> clients), `reports-on-primary`/`reports-on-replica`
(payments per second at <what> in flight while clerks pull the aging CSV, the reports read from
the primary or from a streaming replica).
"""
import sys
from collections import defaultdict

PAGE_GOAL = 0.25
WEBHOOK_GOAL = 0.5

rates = defaultdict(dict)
for line in open(sys.argv[1], encoding="utf-8"):
    parts = line.split()
    if len(parts) != 4:
        continue
    engine, kind, what, rate = parts
    rates[engine][(kind, what)] = float(rate)

for engine, found in rates.items():
    static = found.get(("static", "-"))
    print(f"{engine}")
    if static:
        print(f"  static file, 64 connections: {static:,.0f} req/s (the ceiling)")
        for (kind, what), rate in sorted(found.items()):
            if kind in ("page", "staff"):
                ratio = rate / static
                goal = f"goal >= {PAGE_GOAL}: {'met' if ratio >= PAGE_GOAL else 'not met'}" if kind == "page" else "16 connections, a clerk"
                print(f"  {what:<28} {rate:>9,.0f} req/s  {ratio:5.2f} of static  ({goal})")
    pgbench = {what: rate for (kind, what), rate in found.items() if kind == "pgbench"}
    pgbench = pgbench or {what: rate for (kind, what), rate in rates.get("PostgreSQL", {}).items() if kind == "pgbench"}
    for (kind, what), rate in sorted(found.items(), key=lambda item: (item[0][0], int(item[0][1]) if item[0][1].isdigit() else 0)):
        if kind != "webhooks":
            continue
        ceiling = pgbench.get(what)
        if ceiling:
            ratio = rate / ceiling
            verdict = "met" if ratio >= WEBHOOK_GOAL else "not met"
            print(f"  webhooks, {what:>2} in flight      {rate:>9,.1f} payments/s  {ratio:5.2f} of pgbench TPC-B "
                  f"({ceiling:,.0f} tps; goal >= {WEBHOOK_GOAL}: {verdict})")
        else:
            print(f"  webhooks, {what:>2} in flight      {rate:>9,.1f} payments/s")
    for on in ("primary", "replica"):
        rate = found.get((f"reports-on-{on}", "16"))
        if rate:
            print(f"  webhooks, 16 in flight, clerks pulling the aging CSV, reports on the {on}: {rate:,.1f} payments/s")
