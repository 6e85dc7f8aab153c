#!/usr/bin/env python3
"""Checks the CHILD SA rekeys and bytes the exporter counted against what bench/vici-hub/server.cs made (run.sh --rekeys).

Usage: rekey-check.py BASE_REPORT BASE_METRICS FINAL_REPORT FINAL_METRICS
The reports are the server's (its `freeze FILE` command), each written while its clock stood still and after two
list-sas since, so the /metrics scraped after it shows the same moment. Over the time between the two, per CHILD SA
pair: ipsec_child_sa_rekeys_total must have grown by the rekeys the server made (all three shapes), and
ipsec_child_sa_received_bytes_total / ipsec_child_sa_sent_bytes_total by the bytes its SAs carried (retired plus
current) less what no list-sas could show (the last seconds of an SA replaced between two polls: only an event carries
them). Prints the counted/made ratio and the largest discrepancies; exits 1 when any pair is off.
"""
import re
import sys

SAMPLE = re.compile(r'^(ipsec_child_sa_(?:rekeys|received_bytes|sent_bytes)_total)\{(.*)\}\s+(\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
SHAPES = ("rekeys_deleted", "rekeys_rekeyed", "rekeys_replaced")


def report(path):
    pairs, summary = {}, ""
    with open(path) as lines:
        header = next(lines).rstrip("\n").split("\t")
        for line in lines:
            if line.startswith("#"):
                summary = line[1:].strip()
                continue
            row = dict(zip(header, line.rstrip("\n").split("\t")))
            pairs[(row["tunnel"], row["local_ts"], row["remote_ts"])] = {k: int(v) for k, v in row.items() if k not in ("tunnel", "local_ts", "remote_ts")}
    return pairs, summary


def metrics(path):
    values = {}
    with open(path) as lines:
        for line in lines:
            if match := SAMPLE.match(line):
                labels = dict(LABEL.findall(match.group(2)))
                values[(match.group(1), labels["tunnel"], labels["local_ts"], labels["remote_ts"])] = float(match.group(3))
    return values


def main(base_report, base_metrics, final_report, final_metrics):
    (r0, _), (r1, summary) = report(base_report), report(final_report)
    m0, m1 = metrics(base_metrics), metrics(final_metrics)
    print(f"server: {summary}")
    problems = []
    counted_total = made_total = 0
    worst_rekeys = worst_bytes = largest_unseen = 0
    shapes = [0, 0, 0]
    for pair, after in r1.items():
        before = r0[pair]
        made = sum(after[s] - before[s] for s in SHAPES)
        for k, s in enumerate(SHAPES):
            shapes[k] += after[s] - before[s]
        carried = (after["retired_bytes"] + after["current_bytes"]) - (before["retired_bytes"] + before["current_bytes"])
        unseen = after["unseen_bytes"] - before["unseen_bytes"]
        largest_unseen = max(largest_unseen, unseen)
        if after["skipped"] != before["skipped"]:
            problems.append(f"{pair}: {after['skipped'] - before['skipped']} rekeys no poll could see (rekeys faster than the polls)")
        delta = {}
        for family in ("ipsec_child_sa_rekeys_total", "ipsec_child_sa_received_bytes_total", "ipsec_child_sa_sent_bytes_total"):
            key = (family, *pair)
            if key not in m0 or key not in m1:
                problems.append(f"{pair}: no {family} series")
                delta[family] = float("nan")
                continue
            delta[family] = m1[key] - m0[key]
        counted = delta["ipsec_child_sa_rekeys_total"]
        counted_total += counted
        made_total += made
        worst_rekeys = max(worst_rekeys, abs(counted - made))
        if counted != made:
            problems.append(f"{pair}: counted {counted:.0f} rekeys, the server made {made}")
        for family in ("ipsec_child_sa_received_bytes_total", "ipsec_child_sa_sent_bytes_total"):
            off = delta[family] - (carried - unseen)
            worst_bytes = max(worst_bytes, abs(off))
            if off != 0:
                problems.append(f"{pair}: {family} grew by {delta[family]:.0f}, the server's SAs carried {carried} of which {unseen} no poll could show")
    ratio = counted_total / made_total if made_total else float("nan")
    print(f"pairs={len(r1)} rekeys_made={made_total} (deleted={shapes[0]} rekeyed={shapes[1]} replaced={shapes[2]}) "
          f"rekeys_counted={counted_total:.0f} counted/made={ratio:.4f} max_rekey_discrepancy={worst_rekeys:.0f}")
    print(f"max_byte_discrepancy={worst_bytes:.0f} (counted against carried less unseen, both directions); "
          f"largest_unseen_bytes_of_a_pair={largest_unseen} (the tails of its simply replaced SAs)")
    for problem in problems[:20]:
        print(f"OFF: {problem}")
    if len(problems) > 20:
        print(f"OFF: ... and {len(problems) - 20} more")
    print("rekey check: " + ("every pair exact" if not problems else f"{len(problems)} discrepancies"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
