"""Is the 28-feature model's change on the test week beyond noise? (docs/model.md §2, §2.2)

Scores the test week 2018-08-08 .. 08-14 (known compromised cards excluded, as replay does)
with the previous shipped model (27 features: the first 27 columns) and the new one (all 28),
both on the engine's own vectors (`fraud-engine features`), checks that the figures are
replay's, then a paired bootstrap over cards (a card's transactions drawn together, 1,000
draws, seed 0) of the differences in AUC ROC and average precision, and the per-day
differences of card precision@100.

    python termage_noise.py SIM.csv FEATURES.csv OLD.onnx NEW.onnx
"""
import csv, sys, datetime as dt
import numpy as np, onnxruntime as ort
from sklearn.metrics import roc_auc_score, average_precision_score

SIM, FEATS, OLD, NEW = sys.argv[1:5]
D = 86400
day = lambda s: int(dt.datetime.strptime(s[:10], "%Y-%m-%d").replace(tzinfo=dt.timezone.utc).timestamp())
TE_FROM, TE_TO, SINCE = day("2018-08-08"), day("2018-08-15"), day("2018-07-25")
first_fraud, rows = {}, {}
with open(SIM) as f:
    r = csv.reader(f); h = next(r); ic = h.index("card_token")
    for x in r:
        t = int(dt.datetime.strptime(x[1][:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc).timestamp())
        if t >= TE_TO: break
        c = x[ic] or x[2]
        if x[5] == "1" and t >= SINCE: first_fraud.setdefault(c, t)
        if t >= TE_FROM: rows[x[0]] = (t, c, int(x[5]))
X, meta = [], []
with open(FEATS) as f:
    r = csv.reader(f); names = next(r)[1:]
    for x in r:
        m = rows.get(x[0])
        if m and not (m[1] in first_fraud and first_fraud[m[1]] + 7 * D < (m[0] // D) * D):
            X.append([float(v) if v else np.nan for v in x[1:]]); meta.append(m)
X = np.array(X, np.float32); t = np.array([m[0] for m in meta]); y = np.array([m[2] for m in meta])
cards = {c: i for i, c in enumerate(sorted({m[1] for m in meta}))}; card = np.array([cards[m[1]] for m in meta])
print(f"test week: {len(y)} transactions, {y.sum()} frauds, {len(cards)} cards; features: {len(names)}")

def score(path, n):
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    p = s.run(["probabilities"], {"features": X[:, :n]})[0]
    return np.array([d[1] for d in p]) if isinstance(p, list) else p[:, 1]
def cp100_days(s):
    days = t // D; seen, out = set(), []
    for d_ in np.unique(days):
        m = days == d_; best = {}
        for c, sv, yv in zip(card[m], s[m], y[m]):
            if c not in seen: b = best.setdefault(c, [sv, yv]); b[0] = max(b[0], sv); b[1] = max(b[1], yv)
        hits = [c for c, (sv, yv) in sorted(best.items(), key=lambda kv: -kv[1][0])[:100] if yv]
        seen.update(hits); out.append(len(hits) / 100)
    return np.array(out)

old, new = score(OLD, 27), score(NEW, 28)
for name, s in (("old (27)", old), ("new (28)", new)):
    print(f"{name}: AUC {roc_auc_score(y, s):.4f}  AP {average_precision_score(y, s):.4f}  CP@100 {cp100_days(s).mean():.4f}")
d_cp = cp100_days(new) - cp100_days(old)
print(f"CP@100 per day, new - old: {' '.join(f'{v:+.2f}' for v in d_cp)}; mean {d_cp.mean():+.4f}, "
      f"standard error {d_cp.std(ddof=1) / np.sqrt(len(d_cp)):.4f}")
rng = np.random.default_rng(0)
by_card = [np.where(card == c)[0] for c in range(len(cards))]
dauc, dap = [], []
for _ in range(1000):
    idx = np.concatenate([by_card[c] for c in rng.integers(0, len(by_card), len(by_card))])
    yy = y[idx]
    dauc.append(roc_auc_score(yy, new[idx]) - roc_auc_score(yy, old[idx]))
    dap.append(average_precision_score(yy, new[idx]) - average_precision_score(yy, old[idx]))
for name, v, point in (("AUC", dauc, roc_auc_score(y, new) - roc_auc_score(y, old)),
                       ("AP", dap, average_precision_score(y, new) - average_precision_score(y, old))):
    lo, hi = np.percentile(v, [2.5, 97.5])
    print(f"{name} new - old: {point:+.4f}, 95% interval {lo:+.4f} .. {hi:+.4f}, share of draws > 0: {np.mean(np.array(v) > 0):.3f}")
