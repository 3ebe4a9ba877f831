#!/usr/bin/env python3
"""Prints issue 19's ratios from one bench.sh run's results file.

Each line of the file is "<engine> <kind> <what> <rate>": kind `static` (the static file at 64
connections), `ceiling` (a static-file run made just before the `page` run of the same <what>:
the two make a pair), `page` (a signed-in contact's page at 64 connections), `staff` (a clerk's
page at 16), `webhooks` (payments per second at <what> deliveries in flight) or `pgbench` (TPC-B
transactions per second at <what> clients), `reports-on-primary`/`reports-on-replica` (payments
per second at <what> in flight while clerks pull the aging CSV, the reports read from the primary
or from a streaming replica). A key may repeat: a page's ratio is the median of its pairs' ratios.
"""
import sys
from collections import defaultdict
from statistics import median

PAGE_GOAL = 0.25
WEBHOOK_GOAL = 0.5

rates = defaultdict(lambda: defaultdict(list))
for line in open(sys.argv[1], encoding="utf-8"):
    parts = line.split()
    if len(parts) != 4:
        continue
    engine, kind, what, rate = parts
    rates[engine][(kind, what)].append(float(rate))


def runs(values):
    return ", ".join(f"{v:,.0f}" for v in values)


for engine, found in rates.items():
    print(f"{engine}")
    static_runs = [rate for (kind, _), values in found.items() if kind in ("static", "ceiling") for rate in values]
    static = median(static_runs) if static_runs else None
    if static:
        print(f"  static file, 64 connections: {static:,.0f} req/s median of {len(static_runs)} runs "
              f"(from {min(static_runs):,.0f} to {max(static_runs):,.0f})")
    for (kind, what), values in sorted(found.items()):
        if kind == "page":
            pair_ceilings = found.get(("ceiling", what), [])
            if len(pair_ceilings) != len(values):
                print(f"  {what:<28} {median(values):>9,.0f} req/s  (no paired ceiling)")
                continue
            ratios = [page / ceiling for page, ceiling in zip(values, pair_ceilings)]
            ratio = median(ratios)
            verdict = "met" if ratio >= PAGE_GOAL else "not met"
            print(f"  {what:<28} {median(values):>9,.0f} req/s  {ratio:5.3f} of static  (goal >= {PAGE_GOAL}: "
                  f"{verdict}; pairs {', '.join(f'{r:.2f}' for r in ratios)}; page runs {runs(values)}, "
                  f"static runs {runs(pair_ceilings)})")
        elif kind == "staff" and static:
            rate = median(values)
            print(f"  {what:<28} {rate:>9,.0f} req/s  {rate / static:5.2f} of the static median  (16 connections, a clerk)")
    # pgbench measures PostgreSQL: SQLite's webhooks have no ceiling of their own to be a share of.
    pgbench = {what: median(values) for (kind, what), values in found.items() if kind == "pgbench"}
    for (kind, what), values in sorted(found.items(), key=lambda item: (item[0][0], int(item[0][1]) if item[0][1].isdigit() else 0)):
        if kind != "webhooks":
            continue
        rate = median(values)
        ceiling = pgbench.get(what)
        if ceiling:
            ratio = rate / ceiling
            verdict = "met" if ratio >= WEBHOOK_GOAL else "not met"
            print(f"  webhooks, {what:>2} in flight      {rate:>9,.1f} payments/s  {ratio:5.3f} of pgbench TPC-B "
                  f"({ceiling:,.0f} tps; goal >= {WEBHOOK_GOAL}: {verdict})")
        else:
            print(f"  webhooks, {what:>2} in flight      {rate:>9,.1f} payments/s")
    for on in ("primary", "replica"):
        values = found.get((f"reports-on-{on}", "16"))
        if values:
            print(f"  webhooks, 16 in flight, clerks pulling the aging CSV, reports on the {on}: {median(values):,.1f} payments/s")
