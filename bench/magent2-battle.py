"""MAgent2's battle_v4 engine, one thread, uniform random actions: agent-steps per second.

A measurement driver for side-by-side figures with `pnpm gibbs bench battle` (bench/battle.bench.ts).
It contains no MAgent2 code: it drives a separately built MAgent2 through its own Python module
(magent2.gridworld, a ctypes wrapper of libmagent.so) and its C API. Build MAgent2 outside this
repository (cmake + make in its checkout, then copy build/libmagent.so into its magent2/ folder),
and point MAGENT2_DIR at that checkout:

  MAGENT2_DIR=/tmp/magent2 python3 bench/magent2-battle.py --agents 64 --map 40 --steps 2000

Without MAGENT2_DIR (or without a built libmagent.so there) it prints why and exits 0.

The config is battle_v4's (magent2/environments/battle/battle.py get_config, minimap off): hp 10,
speed 2, view CircleRange(6), attack CircleRange(1.5), damage 2, kill reward 5, recover 0.1, step
reward -0.005, dead penalty -0.1, attack penalty -0.1, +0.2 per attack on an enemy. Placement:
`block` puts the first `agents` cells of two facing k x k blocks (k = ceil(sqrt(agents)), spacing
2, 3 cells either side of the centre line: battle_v4's generate_map, Gibbs's blockCells); `random`
is MAgent2's add_agents(method="random").

Timed per step, as MAgent2's PettingZoo env runs it: env_set_action for both groups, env_step,
env_get_reward for both, gridworld_clear_dead, env_get_observation for both (views and features),
called straight through ctypes on preallocated buffers (no per-step numpy allocation; the ctypes
call overhead, about 0.3-1 us a call, is reported as call_us). Actions are drawn outside the
timing. An episode is reset (untimed) after `--max-steps` steps or when a group is wiped out.
Prints one JSON line.
"""

import argparse
import ctypes
import json
import math
import os
import sys
import time

os.environ["OMP_NUM_THREADS"] = "1"  # one thread, before libmagent (OpenMP) loads


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--agents", type=int, default=64)
    p.add_argument("--map", type=int, default=40)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--placement", choices=["block", "random"], default="block")
    p.add_argument("--max-steps", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()

    root = os.environ.get("MAGENT2_DIR")
    lib = os.path.join(root or "", "magent2", "libmagent.so")
    if not root or not os.path.exists(lib):
        print(
            "magent2-battle: skipped: set MAGENT2_DIR to a MAgent2 checkout whose magent2/ folder "
            f"holds a built libmagent.so (looked for {lib if root else 'MAGENT2_DIR unset'})",
            file=sys.stderr,
        )
        return 0
    sys.path.insert(0, root)
    import numpy as np

    import magent2
    from magent2 import gridworld as gw
    from magent2.c_lib import _LIB

    cfg = gw.Config()
    cfg.set({"map_width": args.map, "map_height": args.map})
    cfg.set({"minimap_mode": False, "embedding_size": 10, "seed": args.seed})
    small = cfg.register_agent_type(
        "small",
        {
            "width": 1,
            "length": 1,
            "hp": 10,
            "speed": 2,
            "view_range": gw.CircleRange(6),
            "attack_range": gw.CircleRange(1.5),
            "damage": 2,
            "kill_reward": 5,
            "step_recover": 0.1,
            "step_reward": -0.005,
            "dead_penalty": -0.1,
            "attack_penalty": -0.1,
        },
    )
    g0 = cfg.add_group(small)
    g1 = cfg.add_group(small)
    a = gw.AgentSymbol(g0, index="any")
    b = gw.AgentSymbol(g1, index="any")
    cfg.add_reward_rule(gw.Event(a, "attack", b), receiver=a, value=0.2)
    cfg.add_reward_rule(gw.Event(b, "attack", a), receiver=b, value=0.2)
    env = magent2.GridWorld(cfg, map_size=args.map)
    handles = env.get_handles()
    n_actions = env.get_action_space(handles[0])[0]
    cap = args.agents

    def place() -> None:
        env.reset()
        if args.placement == "random":
            for h in handles:
                env.add_agents(h, method="random", n=cap)
            return
        k = math.ceil(math.sqrt(cap) - 1e-9)
        side, half, m = 2 * k, args.map // 2, args.map
        for h, x0 in zip(handles, (half - 3 - side, half + 3)):
            pos = [
                [x, y, 0]
                for x in range(x0, x0 + side, 2)
                for y in range((m - side) // 2, (m - side) // 2 + side, 2)
                if 0 < x < m - 1 and 0 < y < m - 1
            ][:cap]
            if len(pos) < cap:
                raise SystemExit(f"{cap} agents do not fit in a block on a {m}x{m} map")
            env.add_agents(h, method="custom", pos=pos)

    game = env.game
    c_int_p = ctypes.POINTER(ctypes.c_int32)
    c_float_p = ctypes.POINTER(ctypes.c_float)
    views = [np.zeros((cap,) + env.get_view_space(h), np.float32) for h in handles]
    feats = [np.zeros((cap,) + env.get_feature_space(h), np.float32) for h in handles]
    rewards = [np.zeros(cap, np.float32) for _ in handles]
    acts = [np.zeros(cap, np.int32) for _ in handles]
    obs_bufs = []
    for v, f in zip(views, feats):
        bufs = (c_float_p * 2)()
        bufs[0] = v.ctypes.data_as(c_float_p)
        bufs[1] = f.ctypes.data_as(c_float_p)
        obs_bufs.append(bufs)
    act_p = [x.ctypes.data_as(c_int_p) for x in acts]
    rew_p = [x.ctypes.data_as(c_float_p) for x in rewards]
    done = ctypes.c_int32()
    done_p = ctypes.byref(done)
    num = ctypes.c_int32()
    num_p = ctypes.byref(num)
    set_action, step, get_reward = _LIB.env_set_action, _LIB.env_step, _LIB.env_get_reward
    clear_dead, get_obs, get_info = _LIB.gridworld_clear_dead, _LIB.env_get_observation, _LIB.env_get_info
    rng = np.random.default_rng(args.seed)
    perf = time.perf_counter

    def live() -> list:
        out = []
        for h in handles:
            get_info(game, h, b"num", num_p)
            out.append(num.value)
        return out

    place()
    for h, bufs in zip(handles, obs_bufs):
        get_obs(game, h, bufs)
    t_in_episode = 0
    episodes = 0
    agent_steps = 0
    step_s = 0.0
    obs_s = 0.0
    for t in range(args.warmup + args.steps):
        counts = live()
        if t_in_episode >= args.max_steps or min(counts) == 0:
            place()
            for h, bufs in zip(handles, obs_bufs):
                get_obs(game, h, bufs)
            episodes += 1
            t_in_episode = 0
            counts = live()
        for x, n in zip(acts, counts):
            x[:n] = rng.integers(0, n_actions, n, dtype=np.int32)
        t0 = perf()
        set_action(game, handles[0], act_p[0])
        set_action(game, handles[1], act_p[1])
        step(game, done_p)
        get_reward(game, handles[0], rew_p[0])
        get_reward(game, handles[1], rew_p[1])
        clear_dead(game)
        t1 = perf()
        get_obs(game, handles[0], obs_bufs[0])
        get_obs(game, handles[1], obs_bufs[1])
        t2 = perf()
        t_in_episode += 1
        if t >= args.warmup:
            agent_steps += counts[0] + counts[1]
            step_s += t1 - t0
            obs_s += t2 - t1
    # ctypes overhead: a cheap call (env_get_info "num"), timed the same way.
    reps = 20000
    c0 = perf()
    for _ in range(reps):
        get_info(game, handles[0], b"num", num_p)
    call_us = (perf() - c0) / reps * 1e6
    total = step_s + obs_s
    print(
        json.dumps(
            {
                "engine": "magent2",
                "agents": cap,
                "map": args.map,
                "placement": args.placement,
                "threads": 1,
                "steps": args.steps,
                "warmup": args.warmup,
                "agent_steps": agent_steps,
                "agent_steps_per_s": agent_steps / total,
                "ms_per_step": total / args.steps * 1e3,
                "phases_ms": {
                    "observations": obs_s / args.steps * 1e3,
                    "step": step_s / args.steps * 1e3,
                },
                "call_us": call_us,
                "alive": dict(zip(["red", "blue"], live())),
                "episodes": episodes,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
