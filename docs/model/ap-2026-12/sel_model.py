from harness import *
import sys, json
p = json.loads(sys.argv[1])
run(blend(p), SEL, label='blend 27 ' + sys.argv[1])
