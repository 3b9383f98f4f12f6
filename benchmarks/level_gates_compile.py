"""Issue 31's question for the CPU: does torch.compile hold up for a tree level's gate arithmetic?
The N-ary Tree-LSTM's gates after the level's one matmul (sigmoid of i, o, f1, f2; tanh of u;
c = i u + f1 c1 + f2 c2; h = o tanh(c)) on (n, 5H) pre-activations, eager against
torch.compile(dynamic=True): compile time per level size, graphs made, microseconds a call at
n = 25, H = 150, one thread; and the largest difference of the outputs.

    OMP_NUM_THREADS=1 python benchmarks/level_gates_compile.py   # output: benchmarks/level-gates-compile.txt
"""
import time, torch
torch.set_num_threads(1)
H = 150
def gates(a, c_kids):
    # a: (n, 5H) pre-activations; c_kids (n, 2, H)
    s = torch.sigmoid(a[:, :4*H]); u = torch.tanh(a[:, 4*H:])
    i, o, f1, f2 = s[:, :H], s[:, H:2*H], s[:, 2*H:3*H], s[:, 3*H:4*H]
    c = i * u + f1 * c_kids[:, 0] + f2 * c_kids[:, 1]
    tc = torch.tanh(c)
    return torch.cat([s, u], 1), c, tc, o * tc
cg = torch.compile(gates, dynamic=True, fullgraph=True)
for n in [1, 2, 25, 37, 50]:
    a = torch.randn(n, 5*H); ck = torch.randn(n, 2, H)
    t0 = time.perf_counter(); cg(a, ck); print(n, "first call", round(time.perf_counter()-t0, 2), "s")
import torch._dynamo
print("compiles:", torch._dynamo.utils.counters["stats"]["unique_graphs"])
a = torch.randn(25, 5*H); ck = torch.randn(25, 2, H)
for f, name in [(gates, "eager"), (cg, "compiled")]:
    for _ in range(100): f(a, ck)
    t0 = time.perf_counter()
    for _ in range(2000): f(a, ck)
    print(name, round((time.perf_counter()-t0)/2000*1e6, 1), "us/call")
ref = gates(a, ck); out = cg(a, ck)
print(max((x-y).abs().max().item() for x, y in zip(ref, out)))
