from policy import *
import pickle
W = pickle.load(open('/tmp/modelap/h/W.pkl', 'rb'))
for k in ['cold04', 'cold05', 'cold06', 'warmsel']:
    w = W[k]; ix = {n: i for i, n in enumerate(w['names'])}; X = w['X']
    c30 = np.nan_to_num(X[:, ix['customer_nb_tx_30d']]); s, amt, y = w['s'], w['amt'], w['y']
    rA = (s >= 0.45) & (c30 >= 12); rB = (s >= 0.2) & (amt >= 200)
    for nm, r in [('known', rA & ~rB), ('amount', rB & ~rA), ('both', rA & rB)]:
        print(k, nm, 'dec', r.sum(), 'FD', (r & (y == 0)).sum())
    fd = (rA | rB) & (y == 0)
    cols = ['tx_amount', 'customer_nb_tx_30d', 'customer_nb_tx_7d', 'terminal_nb_tx_30d', 'customer_amount_over_avg_30d', 'terminal_risk_30d', 'terminal_last_known_fraud', 'customer_terminal_seen_before']
    import collections
    print('  FD amount', np.round(np.sort(amt[fd]), 0)[:60])
    tp = (rA | rB) & (y == 1)
    print('  TP amount>=200 among TP', (amt[tp] >= 200).sum(), 'of', tp.sum(), ' TP amt 200..220', ((amt[tp] >= 200) & (amt[tp] <= 220)).sum(), ' FD amt 200..220', ((amt[fd] >= 200) & (amt[fd] <= 220)).sum())
    print('  FD score', np.round(np.sort(s[fd]), 2))
