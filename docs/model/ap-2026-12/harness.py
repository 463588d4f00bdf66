import sys, numpy as np, json, time
sys.path.insert(0, '/work/wt/modelap/training')
from fraud_trainer.ensemble import fit_model
from fraud_trainer.params import BLEND_PARAMS, DEFAULT_PARAMS
from sklearn.metrics import roc_auc_score, average_precision_score
D = 86400
d = np.load('/tmp/modelap/h/data.npz')
X, ts, y, sc, card, term = d['X'], d['ts'], d['y'], d['sc'], d['card'], d['term']
names = list(d['names'])
T_TRAIN = 1532476800  # 2018-07-25
def week(k, train_weeks=1):
    """k weeks before the handbook's protocol: (train mask, test mask)."""
    s = T_TRAIN - 7 * D * k
    tr = (ts >= s - 7 * D * (train_weeks - 1)) & (ts < s + 7 * D)
    te0, te1 = s + 14 * D, s + 21 * D
    te = (ts >= te0) & (ts < te1)
    # known compromised: a fraud since s (the 1-week training start) with label known before the test day starts
    since = s
    idx = np.where((ts >= since) & (ts < te1) & (y == 1))[0]
    first = {}
    for i in idx:
        c = card[i]
        if c not in first: first[c] = ts[i]
    ti = np.where(te)[0]
    dstart = (ts[ti] // D) * D
    f = np.array([first.get(c, 1e18) for c in card[ti]])
    keep = ~(f + 7 * D < dstart)
    tem = np.zeros_like(te); tem[ti[keep]] = True
    return tr, tem
def cp100(ti, s):
    days = ts[ti] // D; seen = set(); out = []
    for dd in np.unique(days):
        m = days == dd
        c, sv, yv = card[ti][m], s[m], y[ti][m]
        best = {}
        for cc, a, b in zip(c, sv, yv):
            if cc in seen: continue
            o = best.get(cc)
            if o is None: best[cc] = [a, b]
            else: o[0] = max(o[0], a); o[1] = max(o[1], b)
        top = sorted(best.items(), key=lambda kv: -kv[1][0])[:100]
        hits = [cc for cc, (a, b) in top if b]
        seen.update(hits); out.append(len(hits) / 100)
    return float(np.mean(out))
def evaluate(ti, s):
    return dict(auc=roc_auc_score(y[ti], s), ap=average_precision_score(y[ti], s), cp=cp100(ti, s))
_cache = {}
def masks(k, tw=1):
    if (k, tw) not in _cache:
        tr, te = week(k, tw); _cache[(k, tw)] = (np.where(tr)[0], np.where(te)[0])
    return _cache[(k, tw)]
def run(fitfn, weeks, tw=1, label=''):
    res = []
    for k in weeks:
        tri, tei = masks(k, tw)
        t0 = time.time()
        s = fitfn(X[tri], y[tri], X[tei])
        r = evaluate(tei, s); r['k'] = k; r['sec'] = time.time() - t0
        res.append(r)
    m = {q: float(np.mean([r[q] for r in res])) for q in ('auc', 'ap', 'cp')}
    print(f"{label:50s} AUC {m['auc']:.4f} AP {m['ap']:.4f} CP {m['cp']:.4f}  per-week AP " + ' '.join(f"{r['ap']:.3f}" for r in res), flush=True)
    return m, res
def blend(params=None, n_jobs=1):
    p = dict(BLEND_PARAMS, **(params or {}))
    def f(Xtr, ytr, Xte):
        return fit_model(p, ytr, Xtr, 42, n_jobs).predict_proba(Xte)[:, 1]
    return f
SEL = list(range(2, 10))
