"""Offline measurement only: the age of a terminal's oldest known fraud in the window of terminal_risk_30d."""
import numpy as np
D = 86400
def fraud_age(ts, term, y, delay=7 * D, win=30 * D):
    B = np.int64(10**10)
    fk = np.sort(term[y == 1].astype(np.int64) * B + ts[y == 1])
    base = term.astype(np.int64) * B
    lo = np.searchsorted(fk, base + ts - delay - win, side='right')
    lo2 = np.minimum(lo, len(fk) - 1)
    ok = (lo < len(fk)) & (fk[lo2] <= base + ts - delay) & (fk[lo2] > base + ts - delay - win)
    age = np.full(len(ts), np.nan, np.float32)
    age[ok] = (ts[ok] - (fk[lo2[ok]] - base[ok])) / D
    return age
