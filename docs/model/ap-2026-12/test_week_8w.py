from harness import *
import harness
from age import fraud_age
age = fraud_age(ts, term, y)
run(blend(), [0], tw=8, label='TEST 8w blend 27')
harness.X = np.column_stack([X, age])
run(blend(), [0], tw=8, label='TEST 8w blend 27 + terminal_known_fraud_age')
