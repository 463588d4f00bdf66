from harness import *
import harness
from age import fraud_age
import sys
age = fraud_age(ts, term, y)
X28 = np.column_stack([X, age])
which = sys.argv[1]
weeks = SEL
if which == 'base':
    run(blend(), weeks, label='blend 27 (shipped recipe of blend-1w-f27)')
elif which == 'age':
    harness.X = X28
    run(blend(), weeks, label='blend 27 + terminal_known_fraud_age')
