"""After the first test run (coldmodel_test.py): the same search with the amount bound held at 200, on the selection windows; then its choice once on the test windows."""
import pickle, itertools, numpy as np
from policy import outcome, fmt
W = pickle.load(open('/tmp/modelap/h/W.pkl', 'rb'))
S = pickle.load(open('/tmp/modelap/h/coldmodel_scores.pkl', 'rb'))
SEL = ['cold05', 'cold06', 'warmsel']
def dec(w, s, T1, k, T2, A):
    ix = {n: i for i, n in enumerate(w['names'])}
    c30 = np.nan_to_num(w['X'][:, ix['customer_nb_tx_30d']])
    return ((s >= T1) & (c30 >= k)) | ((s >= T2) & (w['amt'] >= A))
today = {k: outcome(W[k], W[k]['s'] >= 0.2) for k in W}
def slack(m, t): return min((0.001 - m['fdr']) / 0.001, (m['prec'] - 0.7) / 0.7, (m['rec'] / t['rec'] - 0.9) / 0.9)
grid = list(itertools.product((0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6), (0, 6, 8, 10, 12, 15), (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6), (200,)))
for name in ('june + cold 06-15', 'june + 2 cold starts'):
    res = sorted(((min(slack(outcome(W[k], dec(W[k], S[name][k], *p)), today[k]) for k in SEL), p) for p in grid), key=lambda r: -r[0])
    sl, p = res[0]
    print(f'{name}: chosen {p} slack {sl:.3f}:', ' | '.join(f'{k} ' + fmt(outcome(W[k], dec(W[k], S[name][k], *p))) for k in SEL))
    for k in ('cold04', 'warmtest'):
        m = outcome(W[k], dec(W[k], S[name][k], *p))
        print(f'   TEST {k}: {fmt(m)} (x today {m["rec"] / today[k]["rec"]:.2f})')
