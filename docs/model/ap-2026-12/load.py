import numpy as np, csv, datetime as dt
def tsof(s): return int(dt.datetime.strptime(s[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.timezone.utc).timestamp())
ts=[];y=[];sc=[];card=[];term=[];cust=[];amt=[];ids=[]
cards={}
with open('/tmp/modelap/sim.csv') as fh:
    r=csv.reader(fh); h=next(r); ic=h.index('card_token')
    for x in r:
        ids.append(x[0]); ts.append(tsof(x[1])); cust.append(int(x[2])); term.append(int(x[3])); amt.append(float(x[4])); y.append(int(x[5])); sc.append(int(x[6]))
        card.append(cards.setdefault(x[ic] or x[2], len(cards)))
with open('/tmp/modelap/feat.csv') as fh:
    h=fh.readline().strip().split(',')
names=h[1:]
X=np.genfromtxt('/tmp/modelap/feat.csv', delimiter=',', skip_header=1, usecols=range(1,len(h)), dtype=np.float32, missing_values='', filling_values=np.nan)
idf=np.loadtxt('/tmp/modelap/feat.csv', delimiter=',', skiprows=1, usecols=0, dtype=np.int64)
assert (idf==np.array(ids,dtype=np.int64)).all()
np.savez('/tmp/modelap/h/data.npz', X=X, ts=np.array(ts), y=np.array(y,np.int8), sc=np.array(sc,np.int8), card=np.array(card), term=np.array(term), cust=np.array(cust), amt=np.array(amt), names=np.array(names))
print(X.shape, names)
