#!/usr/bin/env python3
"""Watches a running exporter for the soak (bench/soak/run.sh, docs/PERFORMANCE.md "Soak").

Every second it reads /proc/PID: VmRSS, Threads, the open file descriptors and how many of them are sockets. Every
--scrape-every seconds it scrapes /metrics and checks, against the previous scrape, that no series of a counter (TYPE
counter: the *_total series) or of a histogram (_bucket, _count, _sum) went down or vanished, and that
ipsec_source_up is 1. At the end it compares the first and the last window after the warm-up (rss_windows):
  - RSS: the mean of the last window against the mean of the first, growth under --max-rss-growth percent. RSS is a
    sawtooth of the GC's committed memory (in the soak it drops by 8-40 MiB every 4-55 s, and wanders a few
    percent over minutes), so a window is a third of the time after the warm-up but at least 60 s (at most half of
    it), and the mean over it averages whole teeth: the median, minimum or maximum of a 30 s window compares one
    tooth's phase with another's (the old judgement: 1.3 to 5.4 %, a false failure, in 3-minute soaks). Printed too:
    the old figure (medians of windows of at most 60 s), the lows and peaks of the windows, and the least-squares slope;
  - threads, fds, sockets: the last window's maximum against the first window's maximum, at most the tolerance more;
and checks the traffic the exporter counted over the time after the warm-up against what the scripted server sent
(every CHILD SA counts --pair-bytes-per-second in each direction, one SA per pair at a time), and the CHILD and IKE
rekeys it counted against the server's schedule: nothing counted twice, nothing lost beyond one collection at each
end. Prints the figures as key=value lines; exits 1 when a bound is violated.
`monitor.py --replay samples.csv --warmup N [--add-mib-per-minute X]` judges the /proc samples of a finished run
again (with X, a synthetic leak added after the warm-up: what a leak would have looked like in that run).
"""
import argparse
import csv
import os
import re
import statistics
import sys
import time
import urllib.request

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$")


def proc_sample(pid):
    status = {}
    with open(f"/proc/{pid}/status") as lines:
        for line in lines:
            key, _, value = line.partition(":")
            status[key] = value.strip()
    fds = sockets = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:  # closed while listing
            continue
        fds += 1
        sockets += target.startswith("socket:")
    return int(status["VmRSS"].split()[0]), int(status["Threads"]), fds, sockets


def parse(text):
    """Returns {series: value} of the monotonic series (counters, histograms) and {series: value} of all."""
    types, monotonic, every = {}, {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        if not match:
            raise ValueError(f"unparsable /metrics line: {line[:200]}")
        name, labels, value = match.group(1), match.group(2) or "", float(match.group(3))
        series = name + labels
        every[series] = value
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        if types.get(name) == "counter" or name.endswith("_total") or types.get(family) == "histogram":
            monotonic[series] = value
    return monotonic, every


def total(values, prefix):
    return sum(v for s, v in values.items() if s.startswith(prefix + "{") or s == prefix)


def rss_windows(samples, warmup):
    """The samples after the warm-up, and its first and last window (see the module's comment), or a reason why not."""
    after = [s for s in samples if s[0] >= warmup]
    span = (after[-1][0] - after[0][0]) if after else 0
    window = max(span / 3, min(span / 2, 60.0))
    if span < 20:
        return after, None, None, f"too little time after the warm-up to compare ({span:.0f}s)"
    first = [s for s in after if s[0] < after[0][0] + window]
    final = [s for s in after if s[0] > after[-1][0] - window]
    return after, first, final, None


def judge_rss(after, first, final, bound):
    """Prints the RSS figures; returns the violation, if any."""
    mib = lambda values: [v / 1024 for v in values]
    level_first, level_last = statistics.fmean(mib(s[1] for s in first)), statistics.fmean(mib(s[1] for s in final))
    growth = 100.0 * (level_last - level_first) / level_first
    # The old judgement, for comparison: medians of windows of a third of the time, at most 60 s.
    old = min(60.0, (after[-1][0] - after[0][0]) / 3)
    median_first = statistics.median(mib(s[1] for s in after if s[0] < after[0][0] + old))
    median_last = statistics.median(mib(s[1] for s in after if s[0] > after[-1][0] - old))
    t, rss = [s[0] for s in after], mib(s[1] for s in after)
    t_mean, rss_mean = statistics.fmean(t), statistics.fmean(rss)
    slope = sum((x - t_mean) * (y - rss_mean) for x, y in zip(t, rss)) / sum((x - t_mean) ** 2 for x in t)
    print(f"rss_window_seconds={first[-1][0] - first[0][0] + 1:.0f} rss_mib_first_window_mean={level_first:.1f} rss_mib_last_window_mean={level_last:.1f} "
          f"rss_growth_percent={growth:.2f} (bound {bound})")
    print(f"rss_mib_first_window_min={min(mib(s[1] for s in first)):.1f} rss_mib_last_window_min={min(mib(s[1] for s in final)):.1f} "
          f"rss_mib_first_window_max={max(mib(s[1] for s in first)):.1f} rss_mib_last_window_max={max(mib(s[1] for s in final)):.1f} "
          f"rss_mib_per_minute_least_squares={slope * 60:.2f} rss_mib_min={min(rss):.1f} rss_mib_max={max(rss):.1f}")
    print(f"old_judgement_window_seconds={old:.0f} rss_mib_first_window_median={median_first:.1f} rss_mib_last_window_median={median_last:.1f} "
          f"old_rss_growth_percent={100.0 * (median_last - median_first) / median_first:.2f}")
    if growth >= bound:
        return f"RSS grew {growth:.2f}% (window means {level_first:.1f} -> {level_last:.1f} MiB), bound {bound}%"
    return None


def replay(args):
    with open(args.replay) as lines:
        samples = [(float(r["seconds"]), int(r["rss_kib"]), int(r["threads"]), int(r["fds"]), int(r["sockets"])) for r in csv.DictReader(lines)]
    # A synthetic leak: RSS grows steadily from the end of the warm-up on.
    samples = [(s[0], s[1] + round(max(0.0, s[0] - args.warmup) / 60 * args.add_mib_per_minute * 1024), *s[2:]) for s in samples]
    after, first, final, problem = rss_windows(samples, args.warmup)
    problem = problem or judge_rss(after, first, final, args.max_rss_growth)
    print(f"VIOLATION: {problem}" if problem else "rss: bound held")
    return 1 if problem else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--replay", help="judge the RSS of a samples CSV of an earlier run instead of watching a process")
    ap.add_argument("--add-mib-per-minute", type=float, default=0.0, help="with --replay: a synthetic leak after the warm-up")
    ap.add_argument("--warmup", type=int, required=True)
    ap.add_argument("--max-rss-growth", type=float, default=5.0)
    args, _ = ap.parse_known_args()
    if args.replay:
        return replay(ap.parse_args())
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--scrape-every", type=int, default=5)
    ap.add_argument("--source-interval", type=float, required=True)
    ap.add_argument("--child-rekey", type=float, required=True)
    ap.add_argument("--ike-rekey", type=float, required=True)
    ap.add_argument("--ike-churn-every", type=int, required=True)
    ap.add_argument("--pair-bytes-per-second", type=float, required=True)
    ap.add_argument("--targets", type=int, required=True)
    ap.add_argument("--thread-tolerance", type=int, default=4)
    ap.add_argument("--fd-tolerance", type=int, default=4)
    ap.add_argument("--socket-tolerance", type=int, default=2)
    ap.add_argument("--samples", help="CSV file for the /proc samples")
    args = ap.parse_args()

    start = time.monotonic()
    samples = []  # (t, rss_kib, threads, fds, sockets)
    problems = []
    previous = None
    scrapes = 0
    first_after_warmup = last = None  # (t, all series)
    source_down = []
    scrape_seconds = []
    next_scrape = 0.0
    while (now := time.monotonic() - start) < args.seconds:
        if now >= next_scrape:
            next_scrape += args.scrape_every
            began = time.monotonic()
            try:
                with urllib.request.urlopen(args.url, timeout=30) as answer:
                    text = answer.read().decode()
            except OSError as error:
                problems.append(f"scrape at {now:.0f}s failed: {error}")
                continue
            scrape_seconds.append(time.monotonic() - began)
            monotonic, every = parse(text)
            scrapes += 1
            if previous is not None:
                for series, before in previous.items():
                    after = monotonic.get(series)
                    if after is None:
                        problems.append(f"counter series vanished at {now:.0f}s: {series} (was {before})")
                    elif after < before:
                        problems.append(f"counter went down at {now:.0f}s: {series} {before} -> {after}")
            previous = monotonic
            up = [v for s, v in every.items() if s.startswith("ipsec_source_up{")]
            if now >= args.warmup and (not up or min(up) != 1):
                source_down.append(f"{now:.0f}s")
            if now >= args.warmup and first_after_warmup is None:
                first_after_warmup = (now, every)
            last = (now, every)
        try:
            samples.append((now, *proc_sample(args.pid)))
        except FileNotFoundError:
            problems.append(f"the exporter (pid {args.pid}) exited at {now:.0f}s")
            break
        time.sleep(max(0.0, 1.0 - (time.monotonic() - start - now)))

    if args.samples:
        with open(args.samples, "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["seconds", "rss_kib", "threads", "fds", "sockets"])
            writer.writerows((f"{s[0]:.1f}", *s[1:]) for s in samples)

    print(f"scrapes={scrapes} scrape_seconds_median={statistics.median(scrape_seconds):.3f} scrape_seconds_max={max(scrape_seconds):.3f}" if scrape_seconds else "scrapes=0")
    print(f"monotonic_series_checked={len(previous or {})} comparisons={max(scrapes - 1, 0)}")
    if source_down:
        problems.append(f"ipsec_source_up was not 1 after the warm-up at {len(source_down)} scrapes: {' '.join(source_down[:10])}")

    after, first, final, problem = rss_windows(samples, args.warmup)
    if problem is None and (first_after_warmup is None or last is first_after_warmup):
        problem = "no scrape after the warm-up to compare"
    if problem is not None:
        problems.append(problem)
    else:
        if rss_problem := judge_rss(after, first, final, args.max_rss_growth):
            problems.append(rss_problem)
        for index, name, tolerance in ((2, "threads", args.thread_tolerance), (3, "fds", args.fd_tolerance), (4, "sockets", args.socket_tolerance)):
            first_max, last_max = max(s[index] for s in first), max(s[index] for s in final)
            print(f"{name}_min={min(s[index] for s in after)} {name}_max={max(s[index] for s in after)} "
                  f"{name}_first_window_max={first_max} {name}_last_window_max={last_max}")
            if last_max - first_max > tolerance:
                problems.append(f"{name} grew from {first_max} to {last_max} (tolerance {tolerance})")

        # What the exporter counted between the first scrape after the warm-up and the last, against the server.
        (t0, a), (t1, b) = first_after_warmup, last
        elapsed = t1 - t0
        slack = 2 * args.source_interval / elapsed + 0.01  # one collection interval at each end, and rounding
        pairs = sum(1 for s in b if s.startswith("ipsec_child_sa_received_bytes_total{"))
        ike_churning = sum(1 for s in b if s.startswith("ipsec_ike_sa_rekeys_total{")) // args.ike_churn_every
        checks = [
            ("received_bytes", total(b, "ipsec_child_sa_received_bytes_total") - total(a, "ipsec_child_sa_received_bytes_total"), pairs * args.pair_bytes_per_second * elapsed),
            ("sent_bytes", total(b, "ipsec_child_sa_sent_bytes_total") - total(a, "ipsec_child_sa_sent_bytes_total"), pairs * args.pair_bytes_per_second * elapsed),
            ("child_rekeys", total(b, "ipsec_child_sa_rekeys_total") - total(a, "ipsec_child_sa_rekeys_total"), pairs * elapsed / args.child_rekey),
            ("ike_rekeys", total(b, "ipsec_ike_sa_rekeys_total") - total(a, "ipsec_ike_sa_rekeys_total"), ike_churning * elapsed / args.ike_rekey),
        ]
        print(f"counted_over_seconds={elapsed:.0f} pairs={pairs} churning_ike_sas={ike_churning} tolerance={slack:.3f}")
        for name, counted, expected in checks:
            ratio = counted / expected if expected else float("nan")
            print(f"{name}_counted={counted:.0f} {name}_sent_by_server={expected:.0f} {name}_ratio={ratio:.4f}")
            if not abs(ratio - 1) <= slack:
                problems.append(f"{name}: the exporter counted {counted:.0f}, the server sent {expected:.0f} (ratio {ratio:.4f}, allowed 1 ± {slack:.3f})")

        requests = sum(total(b, f"ipsec_{k}_ping_requests_total") - total(a, f"ipsec_{k}_ping_requests_total") for k in ("gateway", "inside"))
        responses = sum(total(b, f"ipsec_{k}_ping_responses_total") - total(a, f"ipsec_{k}_ping_responses_total") for k in ("gateway", "inside"))
        print(f"probe_requests={requests:.0f} probe_responses={responses:.0f} probes_per_second={requests / elapsed:.0f} (targets {args.targets})")
        if requests < 0.95 * args.targets * elapsed or responses < 0.99 * requests:
            problems.append(f"probes: {requests:.0f} requests, {responses:.0f} responses in {elapsed:.0f}s at {args.targets} targets a second")

    for problem in problems[:50]:
        print(f"VIOLATION: {problem}")
    if len(problems) > 50:
        print(f"VIOLATION: ... and {len(problems) - 50} more")
    print("soak: " + ("all bounds held" if not problems else f"{len(problems)} violation(s)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
