"""Run once: the candidates chosen on the selection windows (coldmodel.py), on the two test windows."""
import pickle, numpy as np
from policy import outcome, fmt
W = pickle.load(open('/tmp/modelap/h/W.pkl', 'rb'))
S = pickle.load(open('/tmp/modelap/h/coldmodel_scores.pkl', 'rb'))
def dec(w, s, T1, k, T2, A):
    ix = {n: i for i, n in enumerate(w['names'])}
    c30 = np.nan_to_num(w['X'][:, ix['customer_nb_tx_30d']])
    return ((s >= T1) & (c30 >= k)) | ((s >= T2) & (w['amt'] >= A))
for name, p in [('june (shipped recipe)', (0.45, 12, 0.2, 200)), ('june + cold 06-15', (0.35, 15, 0.2, 250)), ('june + 2 cold starts', (0.45, 15, 0.2, 250))]:
    for k in ('cold04', 'warmtest'):
        w = W[k]
        print(f'{name:22s} policy {p} {k:8s} today(shipped, 0.2) {fmt(outcome(w, w["s"] >= 0.2))} | candidate {fmt(outcome(w, dec(w, S[name][k], *p)))}  review {outcome(w, dec(w, S[name][k], *p))["rev"]:.2%}')
