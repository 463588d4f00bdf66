from policy import *
import pickle
W = pickle.load(open('/tmp/modelap/h/W.pkl', 'rb'))
SEL = ['cold05', 'cold06', 'warmsel']
def cols(w):
    ix = {n: i for i, n in enumerate(w['names'])}; X = w['X']
    g = lambda n: np.nan_to_num(X[:, ix[n]])
    return dict(s=w['s'], amt=w['amt'], c30=g('customer_nb_tx_30d'), t30=g('terminal_nb_tx_30d'), seen=g('customer_terminal_seen_before'))
C = {k: cols(w) for k, w in W.items()}
# amount rule split by history: T2 lo for c30 < m (a young customer), T2 hi for c30 >= m
def policy(c, T1, k, T2lo, T2hi, m, A):
    young = c['c30'] < m
    return ((c['s'] >= T1) & (c['c30'] >= k)) | ((c['amt'] >= A) & (((c['s'] >= T2lo) & young) | ((c['s'] >= T2hi) & ~young)))
today = {k: outcome(W[k], C[k]['s'] >= 0.2) for k in W}
def slack(m, t): return min((0.001 - m['fdr']) / 0.001, (m['prec'] - 0.7) / 0.7, (m['rec'] / t['rec'] - 0.9) / 0.9)
grid = list(itertools.product((0.4, 0.45, 0.5), (10, 12, 15), (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5), (0.1, 0.15, 0.2, 0.25, 0.3, 0.4), (3, 5, 8, 12, 20), (200, 250)))
res = sorted(((min(slack(outcome(W[k], policy(C[k], *p)), today[k]) for k in SEL), p) for p in grid), key=lambda r: -r[0])
for sl, p in res[:6]:
    print(f'slack {sl:.3f} T1={p[0]} k={p[1]} T2young={p[2]} T2known={p[3]} m={p[4]} A={p[5]}:', ' | '.join(f'{k} ' + fmt(outcome(W[k], policy(C[k], *p))) for k in SEL))
