from harness import *
import harness
from age import fraud_age
age = fraud_age(ts, term, y)
m27, _ = run(blend(), [0], label='TEST blend 27')
harness.X = np.column_stack([X, age])
m28, _ = run(blend(), [0], label='TEST blend 27 + terminal_known_fraud_age')
