"""The report side of benches/timing.sh: the table of timed runs, and the check that perfgate
agrees with an exact reference."""


def medians(results):
    """The runs in `results` ("name seconds kib" lines): per name, the median seconds and the
    largest peak RSS (MiB)."""
    import statistics
    runs = {}
    for line in open(results):
        name, s, kib = line.split()
        runs.setdefault(name, []).append((float(s), float(kib)))
    t = {n: statistics.median(s for s, _ in r) for n, r in runs.items()}
    rss = {n: max(k for _, k in r) / 1024 for n, r in runs.items()}
    return t, rss


def report(results, rows):
    """Prints one row per (name, label, bytes) of the runs in `results` ("name seconds kib" lines):
    the median seconds, MB/s over `bytes` and the largest peak RSS. Returns the medians and the
    peaks (MiB) by name."""
    t, rss = medians(results)
    print(f"{'tool':<34}{'seconds':>9}{'MB/s':>9}{'peak RSS MiB':>14}")
    for name, label, size in rows:
        print(f"{label:<34}{t[name]:>9.2f}{size / 1e6 / max(t[name], 1e-9):>9.0f}{rss[name]:>14.1f}")
    return t, rss


def values(path, names):
    """The `name value …` lines of an output whose name is in `names`."""
    out = {}
    for line in open(path):
        parts = line.split()
        if len(parts) >= 2 and parts[0] in names:
            out[parts[0]] = float(parts[1])
    return out


def agree(exact_path, perfgate_path, percentiles, rates, label=""):
    """Prints perfgate's values beside the exact ones: percentiles within the HDR histogram's
    0.1 % and never below, rates exact to the printed 3 decimals. Returns whether all agree."""
    exact = values(exact_path, percentiles + rates)
    got_all = values(perfgate_path, percentiles + rates)
    ok = True
    for name in percentiles + rates:
        want, got = exact[name], got_all.get(name)
        tolerance = 0.001 * want if name in percentiles else 0.0005
        fits = got is not None and got >= want - 1e-9 and abs(got - want) <= tolerance + 1e-9
        ok &= fits
        shown = f"{got:.3f}" if got is not None else "missing"
        print(f"{label}{name:<24} python {want:>10.3f}   perfgate {shown:>10}   "
              f"{'agree' if fits else 'DISAGREE'}")
    return ok
