"""The table of bench/newton.sh from its runs.txt (one line of key=value fields per run: the
run's SUMMARY and CLASSIFY lines). A seed succeeds when its final loss is <= 1e-8 or its relative
L2 error <= 1e-4; the others are counted by the class of their final point."""
import sys
from collections import OrderedDict
from statistics import median


def parse(path):
    runs = []
    with open(path) as f:
        for line in f:
            fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            runs.append(fields)
    return runs


def main():
    runs = parse(sys.argv[1])
    table = OrderedDict()
    for r in runs:
        key = (r["case"], r["method"])
        row = table.setdefault(key, {"n": 0, "ok": 0, "saddle": 0, "trivial": 0, "local": 0, "moving": 0, "failed": 0, "its": []})
        row["n"] += 1
        try:
            loss, rel_l2, its = float(r["loss"]), float(r["rel_l2"]), int(r["iterations"])
        except (KeyError, ValueError):
            row["failed"] += 1
            continue
        if loss <= 1e-8 or rel_l2 <= 1e-4:
            row["ok"] += 1
            row["its"].append(its)
            continue
        cls = r.get("class", "")
        if cls == "trivial_saddle":
            row["trivial"] += 1
        elif cls == "saddle":
            row["saddle"] += 1
        elif cls == "minimum":
            row["local"] += 1
        else:
            row["moving"] += 1
    print("| case | method | seeds | reach loss <= 1e-8 or rel. L2 <= 1e-4 | saddle | trivial saddle | other minimum | not stationary | median iterations (successes) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (case, method), row in table.items():
        its = "%d" % median(row["its"]) if row["its"] else "-"
        extra = " (%d runs failed)" % row["failed"] if row["failed"] else ""
        print("| %s | %s | %d | %d | %d | %d | %d | %d | %s%s |" % (case, method, row["n"], row["ok"], row["saddle"], row["trivial"], row["local"], row["moving"], its, extra))


if __name__ == "__main__":
    main()
