"""What the benchmark drivers share: percentiles, formatting, a process's CPU time."""

import math


def pct(values, p):
    """Nearest-rank percentile (p in 0..100) of values; None when empty."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, math.ceil(p / 100.0 * len(s)) - 1)
    return s[k]


def median(values):
    return pct(values, 50)


def ms(x):
    return None if x is None else x * 1000.0


def fmt(x, unit="ms", digits=2):
    if x is None:
        return "-"
    return f"{x:.{digits}f} {unit}".rstrip()


def cpu_ticks(pid):
    """utime+stime (+ reaped children) of a process, all its threads, in clock ticks."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    fields = s[s.rindex(")") + 2:].split()  # fields[0] is field 3 (state)
    return sum(int(fields[i]) for i in (11, 12, 13, 14))
