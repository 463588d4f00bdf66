from policy import *
import pickle
W = pickle.load(open('/tmp/modelap/h/W.pkl', 'rb'))
SEL = ['cold05', 'cold06', 'warmsel']
def cols(w):
    ix = {n: i for i, n in enumerate(w['names'])}; X = w['X']
    return dict(s=w['s'], amt=w['amt'], c30=np.nan_to_num(X[:, ix['customer_nb_tx_30d']]), r=X[:, ix['customer_amount_over_avg_30d']])
C = {k: cols(w) for k, w in W.items()}
def policy(c, T1, k, T2, A, R):
    ratio_ok = np.isnan(c['r']) | (c['r'] >= R) if R > 0 else np.ones(len(c['s']), bool)
    return ((c['s'] >= T1) & (c['c30'] >= k)) | ((c['s'] >= T2) & (c['amt'] >= A) & ratio_ok)
today = {k: outcome(W[k], C[k]['s'] >= 0.2) for k in W}
def slack(m, t): return min((0.001 - m['fdr']) / 0.001, (m['prec'] - 0.7) / 0.7, (m['rec'] / t['rec'] - 0.9) / 0.9)
grid = list(itertools.product((0.35, 0.4, 0.45, 0.5, 0.55), (8, 10, 12, 15), (0.15, 0.2, 0.25, 0.3, 0.4), (150, 200, 250), (0, 1.5, 2, 2.5, 3, 3.5, 4)))
res = []
for p in grid:
    sl = min(slack(outcome(W[k], policy(C[k], *p)), today[k]) for k in SEL)
    res.append((sl, p))
res.sort(key=lambda r: -r[0])
base = (0.45, 12, 0.2, 200, 0)
print('default-2 slack', min(slack(outcome(W[k], policy(C[k], *base)), today[k]) for k in SEL))
for sl, p in res[:8]:
    print(f'slack {sl:.3f} T1={p[0]} k={p[1]} T2={p[2]} A={p[3]} R={p[4]}:', ' | '.join(f'{k} ' + fmt(outcome(W[k], policy(C[k], *p))) for k in SEL))
best = res[0][1]
pickle.dump(res[:20], open('/tmp/modelap/h/cold_grid.pkl', 'wb'))
