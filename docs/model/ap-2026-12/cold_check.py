from policy import *
import pickle
W = windows(('cold04', 'cold05', 'cold06', 'warmsel', 'warmtest'))
pickle.dump(W, open('/tmp/modelap/h/W.pkl', 'wb'))
for k, w in W.items():
    ix = {n: i for i, n in enumerate(w['names'])}
    c30 = np.nan_to_num(w['X'][:, ix['customer_nb_tx_30d']])
    s, amt = w['s'], w['amt']
    d2 = ((s >= 0.45) & (c30 >= 12)) | ((s >= 0.2) & (amt >= 200))
    d1 = s >= 0.2
    print(k, len(s), w['y'].sum(), 'default-1', fmt(outcome(w, d1)), '| default-2', fmt(outcome(w, d2)))
