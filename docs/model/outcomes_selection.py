"""The decline-policy search of docs/model.md §4.1, on replayed decisions (not on the test weeks).

Each window is a `replay --output` of the shipped model and ruleset default-1 (scores, features,
active rule hits), joined with the simulation's labels. A candidate policy declines when
(score >= T1 and customer_nb_tx_30d >= k) or (score >= T2 and amount >= A), and otherwise keeps
default-1's REVIEW (score >= 0.05 or a REVIEW rule); the known compromised cards are removed as
`replay --report` does. Chosen: the largest smallest slack to the three targets over the windows.
Usage: python outcomes_selection.py SIM.csv WARM.jsonl COLD1.jsonl COLD2.jsonl (see §4.1).
"""
import csv, datetime as dt, json, sys
import numpy as np

DAY = 86_400_000
ms = lambda s: int(dt.datetime.strptime(s, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc).timestamp() * 1000)
REVIEW_RULES = {"very_large_amount", "amount_spike_vs_customer", "risky_terminal", "card_velocity_burst"}


def window(decisions, labels, a, b):
    """Score, label, amount, customer_nb_tx_30d, REVIEW-rule hit of the window [a, b), known compromised cards removed."""
    lo, hi, since = ms(a), ms(b), ms(a) - 14 * DAY
    first, rows = {}, []
    with open(decisions) as f:
        for line in f:
            d = json.loads(line)
            t = d["event_time"]
            if t >= hi: break
            y = labels[d["auth_id"]]
            if y and t >= since: first.setdefault(d["card_token"], t)
            if t >= lo and d["score"] is not None:
                ff = first.get(d["card_token"])
                if ff is not None and ff + 7 * DAY < (t // DAY) * DAY: continue  # known compromised that day
                hits = {h["rule_id"] for h in d["rule_hits"] if h["mode"] == "ACTIVE"}
                rows.append((d["score"], y, d["features"]["tx_amount"], d["features"]["customer_nb_tx_30d"] or 0,
                             bool(hits & REVIEW_RULES)))
    return np.array(rows, dtype=np.float64)


def outcome(w, T1, k, T2, A):
    s, y, amt, c30, rr = w.T
    dec = ((s >= T1) & (c30 >= k)) | ((s >= T2) & (amt >= A))
    rev = ~dec & ((s >= 0.05) | (rr > 0))
    y = y > 0
    return dict(fdr=(dec & ~y).sum() / (~y).sum(), prec=(dec & y).sum() / max(1, dec.sum()),
                rec=(dec & y).sum() / y.sum(), review=rev.mean(), dec=int(dec.sum()), fd=int((dec & ~y).sum()))


def main(sim, warm, cold1, cold2):
    with open(sim) as f:
        r = csv.reader(f); next(r)
        labels = {x[0]: int(x[5]) for x in r}
    ws = [window(warm, labels, "2018-07-25", "2018-08-01"), window(cold1, labels, "2018-05-01", "2018-05-15"),
          window(cold2, labels, "2018-06-01", "2018-06-15")]
    today = [outcome(w, 0.2, 0, 2.0, 0) for w in ws]  # default-1: score >= 0.2 declines
    slack = lambda m, t: min((0.001 - m["fdr"]) / 0.001, (m["prec"] - 0.7) / 0.7, (m["rec"] / t["rec"] - 0.9) / 0.9)
    grid = [(T1, k, T2, A) for T1 in (0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6) for k in (6, 8, 10, 12, 15, 20)
            for T2 in (0.1, 0.15, 0.2, 0.25, 0.3) for A in (200, 250)]
    res = sorted(((min(slack(outcome(w, *p), t) for w, t in zip(ws, today)), p) for p in grid), key=lambda r: -r[0])
    fmt = lambda m: (f"dec {m['dec']} FD {m['fd']} FDR {m['fdr']:.3%} prec {m['prec']:.1%} rec {m['rec']:.1%} "
                     f"review {m['review']:.2%}")
    print("today:", " | ".join(fmt(t) for t in today))
    for s, p in res[:5]:
        print(f"slack {s:.3f} T1={p[0]} k={p[1]} T2={p[2]} A={p[3]}:", " | ".join(fmt(outcome(w, *p)) for w in ws))


if __name__ == "__main__":
    main(*sys.argv[1:5])
