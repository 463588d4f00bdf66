import sys, pickle, numpy as np, csv
sys.path.insert(0, '/work/wt/modelap/training')
from fraud_trainer.models import make_model
from policy import day, tsof, outcome, fmt, D
import itertools
P = {"num_leaves": 31, "learning_rate": 0.05, "min_child_samples": 100, "imbalance": "none"}
d = np.load('/tmp/modelap/h/data.npz')
ts, y, X = d['ts'], d['y'], d['X']
june = (ts >= day('2018-06-01')) & (ts < day('2018-07-01'))
def coldrows(name, a, b):
    yy = []
    with open(f'/tmp/modelap/coldtr-{name}.csv') as fh:
        r = csv.reader(fh); next(r); yy = [int(x[5]) for x in r]
    Xc = np.genfromtxt(f'/tmp/modelap/feat-coldtr-{name}.csv', delimiter=',', skip_header=1, usecols=range(1, 28), dtype=np.float32, filling_values=np.nan)
    return Xc, np.array(yy)
W = pickle.load(open('/tmp/modelap/h/W.pkl', 'rb'))
variants = {'june (shipped recipe)': (X[june], y[june])}
parts = [coldrows('06-15', 0, 0), coldrows('07-01', 0, 0)]
variants['june + 2 cold starts'] = (np.vstack([X[june]] + [p[0] for p in parts]), np.concatenate([y[june]] + [p[1] for p in parts]))
variants['june + cold 06-15'] = (np.vstack([X[june], parts[0][0]]), np.concatenate([y[june], parts[0][1]]))
S = {}
for name, (Xt, yt) in variants.items():
    m = make_model(P, 100, yt, 42, 2).fit(Xt, yt)
    S[name] = {k: m.predict_proba(w['X'])[:, 1] for k, w in W.items()}
    print(name, len(yt), int(yt.sum()), flush=True)
pickle.dump(S, open('/tmp/modelap/h/coldmodel_scores.pkl', 'wb'))
from sklearn.metrics import roc_auc_score, average_precision_score
SEL = ['cold05', 'cold06', 'warmsel']
def cols(w, s):
    ix = {n: i for i, n in enumerate(w['names'])}
    return dict(s=s, amt=w['amt'], c30=np.nan_to_num(w['X'][:, ix['customer_nb_tx_30d']]))
def policy(c, T1, k, T2, A):
    return ((c['s'] >= T1) & (c['c30'] >= k)) | ((c['s'] >= T2) & (c['amt'] >= A))
shipped = {k: W[k]['s'] for k in W}
today = {k: outcome(W[k], shipped[k] >= 0.2) for k in W}  # today's recall is default-1 with the SHIPPED model
def slack(m, t): return min((0.001 - m['fdr']) / 0.001, (m['prec'] - 0.7) / 0.7, (m['rec'] / t['rec'] - 0.9) / 0.9)
grid = list(itertools.product((0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6), (0, 6, 8, 10, 12, 15), (0.15, 0.2, 0.25, 0.3, 0.4), (200, 250)))
for name, ss in [('shipped model file', shipped)] + list(S.items()):
    print('==', name, ' '.join(f"{k}: AUC {roc_auc_score(W[k]['y'], ss[k]):.4f} AP {average_precision_score(W[k]['y'], ss[k]):.4f}" for k in W))
    C = {k: cols(W[k], ss[k]) for k in W}
    res = sorted(((min(slack(outcome(W[k], policy(C[k], *p)), today[k]) for k in SEL), p) for p in grid), key=lambda r: -r[0])
    for sl, p in res[:3]:
        print(f' slack {sl:.3f} T1={p[0]} k={p[1]} T2={p[2]} A={p[3]}:', ' | '.join(f'{k} ' + fmt(outcome(W[k], policy(C[k], *p))) for k in SEL))
    p = (0.45, 12, 0.2, 200)
    print(' default-2:', ' | '.join(f'{k} ' + fmt(outcome(W[k], policy(C[k], *p))) for k in SEL))
