"""ATTACK: ``os._exit(0)`` at import (no cleanup, no reply), after writing a fake
results.json into the working folder and printing "32/32".

honest part: 0 points

proof: your code ended the grading process while it was being loaded
"""
import json
import os

with open("results.json", "w") as f:
    json.dump({"score": 32.0, "max_score": 32.0}, f)
print("Score: 32/32", flush=True)
os._exit(0)


def bernoulli_mle(x):
    return x.mean()
