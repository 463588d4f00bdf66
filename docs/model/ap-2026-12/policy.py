"""Decline policies on the shipped model's scores, offline (docs/model.md 4.1), from feature CSVs."""
import sys, numpy as np, csv, datetime as dt, onnxruntime as ort, itertools
D = 86400
def tsof(s): return int(dt.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc).timestamp())
def day(s): return tsof(s + "T00:00:00")
MODEL = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1].endswith('.onnx') else '/work/wt/modelap/models/model.onnx'
sess = ort.InferenceSession(MODEL)
def load(simf, featf, a, b):
    ids, ts, y, card, amt = [], [], [], [], []
    with open(simf) as fh:
        r = csv.reader(fh); h = next(r); ic = h.index('card_token')
        for x in r:
            t = tsof(x[1])
            if t >= day(b): break
            ts.append(t); y.append(int(x[5])); card.append(x[ic] or x[2]); amt.append(float(x[4]))
    n = len(ts)
    X = np.genfromtxt(featf, delimiter=',', skip_header=1, usecols=range(1, 28), dtype=np.float32, max_rows=n, filling_values=np.nan)
    with open(featf) as fh: names = fh.readline().strip().split(',')[1:]
    ts, y, amt = np.array(ts), np.array(y), np.array(amt)
    lo, since = day(a), day(a) - 14 * D
    first = {}
    keep = np.zeros(n, bool)
    for i in range(n):
        if y[i] and ts[i] >= since: first.setdefault(card[i], ts[i])
        if ts[i] >= lo:
            f = first.get(card[i])
            keep[i] = not (f is not None and f + 7 * D < (ts[i] // D) * D)
    X, y, amt = X[keep], y[keep], amt[keep]
    s = sess.run(None, {'features': X})[1][:, 1] if False else sess.run(['probabilities'], {'features': X})[0][:, 1]
    return dict(X=X, y=y, amt=amt, s=s, names=names)
def outcome(w, dec):
    y = w['y'] > 0
    return dict(fdr=(dec & ~y).sum() / (~y).sum(), prec=(dec & y).sum() / max(1, dec.sum()), rec=(dec & y).sum() / y.sum(),
                dec=int(dec.sum()), fd=int((dec & ~y).sum()), rev=float(((w['s'] >= 0.05) & ~dec).mean()))
def fmt(m): return f"dec {m['dec']:4d} FD {m['fd']:3d} FDR {m['fdr']:.3%} prec {m['prec']:.1%} rec {m['rec']:.1%}"
def from_npz(a, b):
    d = np.load('/tmp/modelap/h/data.npz')
    ts, y, card, amt, X = d['ts'], d['y'], d['card'], d['amt'], d['X']
    lo, hi, since = day(a), day(b), day(a) - 14 * D
    idx = np.where((ts >= since) & (ts < hi) & (y == 1))[0]
    first = {}
    for i in idx: first.setdefault(card[i], ts[i])
    ti = np.where((ts >= lo) & (ts < hi))[0]
    f = np.array([first.get(c, 1e18) for c in card[ti]])
    ti = ti[~(f + 7 * D < (ts[ti] // D) * D)]
    X = X[ti]
    s = sess.run(['probabilities'], {'features': X})[0][:, 1]
    return dict(X=X, y=y[ti].astype(int), amt=amt[ti], s=s, names=list(d['names']))
def windows(which=('cold04', 'cold05', 'cold06', 'warmsel')):
    W = {}
    for k in which:
        if k == 'cold04': W[k] = from_npz('2018-04-01', '2018-04-15')
        if k == 'cold05': W[k] = load('/tmp/modelap/cold-05.csv', '/tmp/modelap/feat-cold-05.csv', '2018-05-01', '2018-05-15')
        if k == 'cold06': W[k] = load('/tmp/modelap/cold-06.csv', '/tmp/modelap/feat-cold-06.csv', '2018-06-01', '2018-06-15')
        if k == 'warmsel': W[k] = from_npz('2018-07-25', '2018-08-01')
        if k == 'warmtest': W[k] = from_npz('2018-08-08', '2018-08-15')
    return W
