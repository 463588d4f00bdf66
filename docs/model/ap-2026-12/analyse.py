from harness import *
ix = {n: i for i, n in enumerate(names)}
for k in [2, 5]:
    tri, tei = masks(k)
    s = blend()(X[tri], y[tri], X[tei])
    print('week', k, evaluate(tei, s))
    lk = X[tei, ix['terminal_last_known_fraud']] == 1
    f3 = X[tei, ix['terminal_frauds_last3_known']]
    yy, ss, scc = y[tei], s, sc[tei]
    print(' test rows', len(tei), 'frauds', yy.sum(), 'by scen', np.bincount(scc, minlength=4))
    print(' last_known=1 rows', lk.sum(), 'frauds', yy[lk].sum(), 'precision', yy[lk].mean())
    for v in range(4):
        m = f3 == v
        print(f'  last3={v}: rows {m.sum()} frauds {yy[m].sum()} prec {yy[m].mean() if m.sum() else 0:.3f} median score fraud {np.median(ss[m & (yy==1)]) if (m&(yy==1)).sum() else 0:.3f} legit {np.median(ss[m&(yy==0)]) if (m&(yy==0)).sum() else 0:.3f}')
    s2 = scc == 2
    print(' scen2 frauds', s2.sum(), 'with last_known', (s2 & lk).sum(), ' scored <0.2:', (s2 & lk & (ss < 0.2)).sum(), '<0.5', (s2 & lk & (ss < 0.5)).sum())
    # legit with last_known=1
    print(' legit with last_known=1', (lk & (yy == 0)).sum(), 'scored >=0.5', (lk & (yy == 0) & (ss >= 0.5)).sum())
