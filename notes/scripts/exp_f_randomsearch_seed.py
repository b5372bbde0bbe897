"""Experiment (f): is RandomSearch's population reproducible from autotune_random_seed?
RandomSearch draws its configs in __init__; BaseSearch._prepare() seeds `random` only later."""
import random, torch
from helion.autotuner import RandomSearch
import exp_a_flat_spec as a
x = torch.randn(1024, 1024, dtype=torch.float16)
bound = a.matmul_benchmark.bind((x, x))
bound.settings.autotune_random_seed = 0
pops = []
for trial in range(3):
    if trial == 2:
        random.seed(0)
    rs = RandomSearch(bound, (x, x), count=5)
    pops.append([c for c in rs.configs])
print("same population for 2 constructions with the same autotune_random_seed:", pops[0] == pops[1])
random.seed(0); p3 = [c for c in RandomSearch(bound, (x, x), count=5).configs]
print("same population after explicit random.seed(0) twice:", pops[2] == p3)
