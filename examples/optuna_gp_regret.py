# The reference figures of `flock bench sampler`: Optuna's GPSampler on Branin or Hartmann6
# (the same functions, bounds and optimum values as Flock's TestFunctions), seed by seed,
# printing each seed's simple regret (best value - known optimum) after N trials as one JSON
# line; take the median yourself. Needs optuna, scipy and torch (CPU) in a virtual environment:
#   python -m venv /tmp/optvenv && /tmp/optvenv/bin/pip install optuna scipy torch
#   OMP_NUM_THREADS=1 /tmp/optvenv/bin/python examples/optuna_gp_regret.py hartmann6 0 10 [50]
# (function, first seed, end seed, trials). Measured with Optuna 5.0.0: about 30 s per seed.
import sys, math, json, numpy as np, optuna, time
optuna.logging.set_verbosity(optuna.logging.ERROR)
import warnings; warnings.filterwarnings("ignore")

def branin(x1, x2):
    a, b, c, r, s, t = 1.0, 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)
    return a * (x2 - b * x1 * x1 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s
A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
P = np.array([[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886], [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
              [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650], [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]])
ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
def hartmann6(x):
    x = np.asarray(x)
    return float(-(ALPHA * np.exp(-(A * (x - P) ** 2).sum(axis=1))).sum())

def run(function, seed, trials):
    sampler = optuna.samplers.GPSampler(seed=seed)
    study = optuna.create_study(sampler=sampler)
    if function == "branin":
        obj = lambda t: branin(t.suggest_float("x1", -5, 10), t.suggest_float("x2", 0, 15)); opt = 0.397887
    else:
        obj = lambda t: hartmann6([t.suggest_float(f"x{i}", 0, 1) for i in range(6)]); opt = -3.32237
    study.optimize(obj, n_trials=trials)
    return study.best_value - opt

if __name__ == "__main__":
    function, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    trials = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    for seed in range(first, last):
        start = time.time()
        r = run(function, seed, trials)
        print(json.dumps({"function": function, "seed": seed, "regret": r, "seconds": round(time.time() - start, 1)}), flush=True)
