#!/usr/bin/env python3
"""
Times pymdp's single-agent NumPy `Agent` on the generative models that `bench/aif.bench.ts` gives
it, so that the bench can put Gibbs's cost per agent-step beside pymdp's, measured in the same run
on the same machine.

This file contains no pymdp code: it imports pymdp from a checkout,
    PYMDP_PATH=/tmp/pymdp python3 bench/pymdp/time_agent.py < cases.json
where PYMDP_PATH (or the first argument) is the directory that holds the `pymdp` package. Two
NumPy agents are understood:
  - `legacy`: `pymdp.legacy.agent.Agent` of pymdp >= 1.0 (the NumPy agent kept beside the JAX one;
    the code that packages/agents/test/conformance/pymdp was generated with, commit f2f6441, so
    the same expected free energy as Gibbs). It is imported without running pymdp/__init__.py,
    which needs JAX. Needs numpy, scipy and opt_einsum.
        git clone https://github.com/infer-actively/pymdp /tmp/pymdp   # (f2f6441 was measured)
  - `v0`: `pymdp.agent.Agent` of v0.0.7.x, the last release before JAX (v0.0.7.1 is commit
    2d2152c7). Needs numpy and scipy. Its state information gain is the mutual information of all
    modalities jointly (spm_MDP_G over the joint outcome), where the legacy agent and Gibbs sum it
    per modality: with several modalities its q(pi) differs a little and its cost is higher.
        git clone --depth 1 --branch v0.0.7.1 https://github.com/infer-actively/pymdp /tmp/pymdp-0.0.7.1
Both import pandas, seaborn and matplotlib at module level for plotting and spreadsheet helpers that
the agent never calls: when they are missing, empty stand-ins are put in their place (listed as
`stubbed` in the output), and any use of them raises.

Input (stdin, JSON): {"cases": [{"name", "policyLen", "A": [{"shape", "data"}], "B": [...],
"C": [[...] or {"shape", "data"}], "D": [[...]], "obs": [[o_m ...], ...], "resetEvery", "gamma",
"alpha", "useUtility", "useStatesInfoGain", "actionSelection", "numIter", "dFTol"}], "minRepMs",
"reps"}. Tensors are row-major with pymdp's axis order (A[m]: [outcome, *states], B[f]: [next,
prev, action]).

Each agent-step is `infer_states(obs)`, `infer_policies()`, `sample_action()` (VANILLA fixed-point
inference). As in the bench, observation vectors are cycled and the agent is reset (beliefs, last
action) every `resetEvery` steps. Timing: median over `reps` repetitions of CPU time
(time.process_time) and wall time, each repetition running enough steps to last at least
`minRepMs`; two repetitions' worth of steps are run untimed first.

Output (stdout, JSON): {"pymdp": {"path", "flavor", "version", "numpy", "python", "stubbed"},
"cases": [{"name", "policies", "cpuMs", "wallMs", "reps", "stepsPerRep", "qPiFirst",
"actionFirst"}]}, where qPiFirst/actionFirst are q(pi) and the action after one step from a fresh
agent on obs[0] (the bench compares them with Gibbs's). On failure: {"error": "..."}, exit status 3.
"""

import json
import os
import platform
import re
import sys
import time
import types


def fail(msg):
    print(json.dumps({"error": msg}))
    sys.exit(3)


class _Missing(types.ModuleType):
    """Stand-in for a plotting/spreadsheet module the agent never uses."""

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise ImportError(f"{self.__name__} is not installed (stubbed by bench/pymdp/time_agent.py)")


def stub_optional():
    stubbed = []
    for name in ("pandas", "seaborn", "matplotlib"):
        try:
            __import__(name)
        except ImportError:
            sys.modules[name] = _Missing(name)
            stubbed.append(name)
    if "matplotlib" in stubbed:
        sys.modules["matplotlib.pyplot"] = _Missing("matplotlib.pyplot")
        sys.modules["matplotlib"].pyplot = sys.modules["matplotlib.pyplot"]
    return stubbed


def import_pymdp(path):
    pkg_dir = os.path.join(path, "pymdp")
    if not os.path.isdir(pkg_dir):
        fail(f"no pymdp package under {path}")
    sys.path.insert(0, path)
    stubbed = stub_optional()
    legacy = os.path.isfile(os.path.join(pkg_dir, "legacy", "agent.py"))
    try:
        if legacy:
            # pymdp/__init__.py imports the JAX agent: register the package without running it.
            pkg = types.ModuleType("pymdp")
            pkg.__path__ = [pkg_dir]
            sys.modules["pymdp"] = pkg
            from pymdp.legacy import utils
            from pymdp.legacy.agent import Agent
        else:
            from pymdp import utils
            from pymdp.agent import Agent
    except ImportError as e:
        fail(f"cannot import pymdp's NumPy agent from {path}: {e}")
    version = None
    for name, pattern in (
        ("pyproject.toml", r"^version\s*=\s*['\"]([^'\"]+)['\"]"),
        ("setup.py", r"version\s*=\s*['\"]([^'\"]+)['\"]"),
    ):
        try:
            with open(os.path.join(path, name), encoding="utf8") as f:
                m = re.search(pattern, f.read(), re.M)
        except OSError:
            continue
        if m:
            version = m.group(1)
            break
    info = {
        "path": os.path.abspath(path),
        "flavor": "legacy" if legacy else "v0",
        "version": version,
        "stubbed": stubbed,
    }
    return Agent, utils, info


def build(case, np, utils):
    def arr(t):
        return np.asarray(t["data"], dtype=np.float64).reshape(t["shape"])

    def obj(items):
        o = utils.obj_array(len(items))
        for i, x in enumerate(items):
            o[i] = x
        return o

    A = obj([arr(t) for t in case["A"]])
    B = obj([arr(t) for t in case["B"]])
    C = obj([arr(c) if isinstance(c, dict) else np.asarray(c, dtype=np.float64) for c in case["C"]])
    D = obj([np.asarray(d, dtype=np.float64) for d in case["D"]])
    return A, B, C, D


def make_agent(Agent, case, model):
    A, B, C, D = model
    agent = Agent(
        A=A,
        B=B,
        C=C,
        D=D,
        policy_len=case["policyLen"],
        gamma=case["gamma"],
        alpha=case["alpha"],
        use_utility=case["useUtility"],
        use_states_info_gain=case["useStatesInfoGain"],
        use_param_info_gain=False,
        action_selection=case["actionSelection"],
        inference_algo="VANILLA",
    )
    # pymdp's NumPy agents ignore the inference_params argument; set them as the bench's config has them.
    agent.inference_params = {"num_iter": case["numIter"], "dF": 1.0, "dF_tol": case["dFTol"]}
    return agent


def reset(agent):
    agent.reset()
    agent.action = None
    agent.prev_actions = None


def step(agent, obs):
    agent.infer_states(obs)
    agent.infer_policies()
    return agent.sample_action()


def time_case(Agent, case, model, min_rep_ms, reps):
    agent = make_agent(Agent, case, model)
    obs = [list(o) for o in case["obs"]]
    every = case["resetEvery"]
    k = 0

    def run(n):
        nonlocal k
        for _ in range(n):
            step(agent, obs[k % len(obs)])
            k += 1
            if k % every == 0:
                reset(agent)

    # Calibrate: steps per repetition so that one lasts at least min_rep_ms.
    t0 = time.process_time()
    run(every)
    per = max((time.process_time() - t0) * 1000 / every, 1e-3)
    n = max(1, int(min_rep_ms / per + 0.999))
    run(2 * n)  # warm-up
    cpu, wall = [], []
    for _ in range(reps):
        c0, w0 = time.process_time(), time.perf_counter()
        run(n)
        cpu.append((time.process_time() - c0) * 1000 / n)
        wall.append((time.perf_counter() - w0) * 1000 / n)
    cpu.sort()
    wall.sort()

    first = make_agent(Agent, case, model)
    action = step(first, obs[0])
    return {
        "name": case["name"],
        "policies": len(agent.policies),
        "cpuMs": cpu[len(cpu) // 2],
        "wallMs": wall[len(wall) // 2],
        "reps": reps,
        "stepsPerRep": n,
        "qPiFirst": [float(x) for x in first.q_pi],
        "actionFirst": [int(a) for a in action],
    }


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PYMDP_PATH", "/tmp/pymdp")
    try:
        import numpy as np
    except ImportError:
        fail("numpy is not installed")
    Agent, utils, info = import_pymdp(path)
    info["numpy"] = np.__version__
    info["python"] = platform.python_version()
    spec = json.load(sys.stdin)
    cases = []
    for case in spec["cases"]:
        model = build(case, np, utils)
        cases.append(time_case(Agent, case, model, spec.get("minRepMs", 30), spec.get("reps", 7)))
    print(json.dumps({"pymdp": info, "cases": cases}))


if __name__ == "__main__":
    main()
