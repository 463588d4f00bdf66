"""The model `train --cold-starts 2018-06-15` wrote, on the same windows and policies as coldmodel*.py."""
import pickle, sys, numpy as np, onnxruntime as ort
from policy import outcome, fmt
from sklearn.metrics import roc_auc_score, average_precision_score
W = pickle.load(open('/tmp/modelap/h/W.pkl', 'rb'))
S = pickle.load(open('/tmp/modelap/h/coldmodel_scores.pkl', 'rb'))['june + cold 06-15']
sess = ort.InferenceSession(sys.argv[1])
def dec(w, s, T1, k, T2, A):
    ix = {n: i for i, n in enumerate(w['names'])}
    c30 = np.nan_to_num(w['X'][:, ix['customer_nb_tx_30d']])
    return ((s >= T1) & (c30 >= k)) | ((s >= T2) & (w['amt'] >= A))
for k, w in W.items():
    s = sess.run(['probabilities'], {'features': w['X']})[0][:, 1]
    print(f"{k:8s} CLI model AUC {roc_auc_score(w['y'], s):.4f} AP {average_precision_score(w['y'], s):.4f} | python max|diff| {np.abs(s - S[k]).max():.2e}",
          '| policy 0.45/15, 0.6/200:', fmt(outcome(w, dec(w, s, 0.45, 15, 0.6, 200))))
