"""Drive a Gibbs world from Python, over the WebSocket of an external run.

Start the world with ``pnpm gibbs run battle --serve 127.0.0.1:8765 --external``; then::

    from gibbs_client import GibbsParallelEnv
    env = GibbsParallelEnv("ws://127.0.0.1:8765")
    observations, infos = env.reset(seed=1)
    while env.agents:
        actions = {a: env.action_space(a).sample() for a in env.agents}
        observations, rewards, terminations, truncations, infos = env.step(actions)
    env.close()

PettingZoo's Parallel API shape (dicts keyed by agent name such as ``red_0``), and a batched form
for populations (``reset_batch``/``step_batch``: numpy arrays of shape [capacity, ...] per group,
with alive masks). Needs only the standard library and numpy: the WebSocket client (RFC 6455) is
written here on ``socket``. See docs/python.md; the protocol is in docs/runtime.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import socket
import struct
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np

__all__ = [
    "WebSocket",
    "WebSocketClosed",
    "GibbsError",
    "Discrete",
    "Box",
    "GroupBatch",
    "Batch",
    "GibbsParallelEnv",
]

# ---- a minimal RFC 6455 client ---------------------------------------------------------------

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class WebSocketClosed(ConnectionError):
    """The connection closed (``code`` and ``reason`` from the close frame, when there was one)."""

    def __init__(self, code: int | None = None, reason: str = ""):
        super().__init__(f"WebSocket closed (code {code}{': ' + reason if reason else ''})")
        self.code = code
        self.reason = reason


class WebSocket:
    """A blocking WebSocket client: handshake, masked frames, text and binary messages,
    fragmented messages, ping/pong and the closing handshake. ``ws://`` only."""

    def __init__(self, url: str, timeout: float | None = 30.0, max_message: int = 1 << 31):
        u = urlsplit(url)
        if u.scheme != "ws":
            raise ValueError(f"url: got {url!r}, expected ws://HOST:PORT[/path]")
        host = u.hostname or "127.0.0.1"
        port = u.port or 80
        path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        self.max_message = max_message
        self.closed = False
        self.close_code: int | None = None
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()
        key = base64.b64encode(os.urandom(16)).decode()
        host_header = f"[{host}]" if ":" in host else host
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host_header}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            raise ConnectionError(f"WebSocket handshake refused: {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            raise ConnectionError("WebSocket handshake: bad Sec-WebSocket-Accept")

    # -- reading --

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise WebSocketClosed(None, "connection closed during the handshake")
            self._buf += chunk
        i = self._buf.index(marker) + len(marker)
        out = bytes(self._buf[:i])
        del self._buf[:i]
        return out

    def _read_exact(self, n: int) -> bytearray:
        if len(self._buf) >= n:
            out = self._buf[:n]
            del self._buf[:n]
            return out
        out = bytearray(n)
        view = memoryview(out)
        have = len(self._buf)
        view[:have] = self._buf
        self._buf = bytearray()
        while have < n:
            got = self.sock.recv_into(view[have:], n - have)
            if got == 0:
                self.closed = True
                raise WebSocketClosed(self.close_code, "connection lost")
            have += got
        return out

    def _read_frame(self) -> tuple[bool, int, bytearray]:
        b0, b1 = self._read_exact(2)
        fin, opcode = bool(b0 & 0x80), b0 & 0x0F
        if b0 & 0x70:
            raise ConnectionError("WebSocket: reserved bits set (no extension was negotiated)")
        masked, n = bool(b1 & 0x80), b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8))[0]
        if n > self.max_message:
            raise ConnectionError(f"WebSocket: frame of {n} bytes over max_message")
        mask = self._read_exact(4) if masked else None
        payload = self._read_exact(n) if n else bytearray()
        if mask is not None:
            payload = bytearray(_xor(payload, mask))
        return fin, opcode, payload

    def recv(self) -> str | bytearray:
        """The next message: ``str`` for text, ``bytearray`` for binary. Answers pings; raises
        WebSocketClosed when the server closes."""
        if self.closed:
            raise WebSocketClosed(self.close_code, "already closed")
        opcode: int | None = None
        parts: list[bytearray] = []
        size = 0
        while True:
            fin, op, payload = self._read_frame()
            if op == OP_PING:
                self._send_frame(OP_PONG, bytes(payload))
                continue
            if op == OP_PONG:
                continue
            if op == OP_CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                reason = payload[2:].decode("utf-8", "replace")
                self.close_code = code
                if not self.closed:
                    try:
                        self._send_frame(OP_CLOSE, bytes(payload[:2]))
                    except OSError:
                        pass
                self.closed = True
                self.sock.close()
                raise WebSocketClosed(code, reason)
            if op == OP_CONT:
                if opcode is None:
                    raise ConnectionError("WebSocket: continuation frame without a message")
            elif op in (OP_TEXT, OP_BINARY):
                if opcode is not None:
                    raise ConnectionError("WebSocket: new message inside a fragmented one")
                opcode = op
            else:
                raise ConnectionError(f"WebSocket: unknown opcode {op}")
            parts.append(payload)
            size += len(payload)
            if size > self.max_message:
                raise ConnectionError(f"WebSocket: message over {self.max_message} bytes")
            if fin:
                data = parts[0] if len(parts) == 1 else bytearray(b"".join(parts))
                return data.decode("utf-8") if opcode == OP_TEXT else data

    # -- writing --

    def _send_frame(self, opcode: int, payload: bytes | bytearray | memoryview, fin: bool = True):
        n = len(payload)
        head = bytearray([(0x80 if fin else 0) | opcode])
        if n < 126:
            head.append(0x80 | n)
        elif n < 1 << 16:
            head.append(0x80 | 126)
            head += struct.pack("!H", n)
        else:
            head.append(0x80 | 127)
            head += struct.pack("!Q", n)
        mask = os.urandom(4)
        head += mask
        self.sock.sendall(bytes(head) + _xor(payload, mask))

    def send_text(self, text: str) -> None:
        self._send_frame(OP_TEXT, text.encode("utf-8"))

    def send_binary(self, data: bytes | bytearray | memoryview, fragment: int | None = None) -> None:
        """Send binary data, in frames of at most ``fragment`` bytes when given."""
        if fragment is None or len(data) <= fragment:
            self._send_frame(OP_BINARY, data)
            return
        view = memoryview(data)
        for i in range(0, len(view), fragment):
            last = i + fragment >= len(view)
            self._send_frame(OP_BINARY if i == 0 else OP_CONT, view[i : i + fragment], fin=last)

    def ping(self, data: bytes = b"") -> None:
        self._send_frame(OP_PING, data)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """The closing handshake: send a close frame, wait (briefly) for the server's."""
        if self.closed:
            return
        try:
            self._send_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode()[:120])
            self.sock.settimeout(2.0)
            while True:
                self.recv()
        except (WebSocketClosed, OSError, ConnectionError):
            pass
        finally:
            self.closed = True
            self.sock.close()


def _xor(payload: bytes | bytearray | memoryview, mask: bytes) -> bytes:
    """Mask (or unmask) a payload: numpy for speed, 4 bytes at a time."""
    n = len(payload)
    if n == 0:
        return b""
    data = np.frombuffer(payload, dtype=np.uint8)
    key = np.frombuffer(mask * ((n + 3) // 4), dtype=np.uint8)[:n]
    return np.bitwise_xor(data, key).tobytes()


# ---- Gibbs' protocol -------------------------------------------------------------------------


class GibbsError(Exception):
    """A request the server refused: ``field`` names what was wrong, ``expected`` what is valid."""

    def __init__(self, message: str, field: str | None = None, expected: str | None = None):
        super().__init__(message)
        self.field = field
        self.expected = expected


@dataclass(frozen=True)
class Discrete:
    """Actions 0 .. n-1 (gymnasium's Discrete, without gymnasium)."""

    n: int
    rng: np.random.Generator = field(default_factory=np.random.default_rng, compare=False)

    def sample(self) -> int:
        return int(self.rng.integers(self.n))

    def contains(self, x: Any) -> bool:
        return isinstance(x, (int, np.integer)) and 0 <= int(x) < self.n


@dataclass(frozen=True)
class Box:
    """A float32 array of ``shape`` (gymnasium's Box, without gymnasium)."""

    shape: tuple[int, ...]
    low: float = -np.inf
    high: float = np.inf
    dtype: Any = np.float32


@dataclass
class GroupBatch:
    """One group's step output: arrays of shape [capacity, ...]. ``alive`` is after the step."""

    name: str
    view: np.ndarray | None  # [capacity, height, width, channels] float32, or None
    features: np.ndarray  # [capacity, features] float32
    reward: np.ndarray  # [capacity] float32
    alive: np.ndarray  # [capacity] bool
    terminated: np.ndarray  # [capacity] bool
    truncated: np.ndarray  # [capacity] bool


@dataclass
class Batch:
    """A whole step's output: per-group arrays and the world's counters (``info``)."""

    groups: dict[str, GroupBatch]
    step: int
    episode: int
    done: bool
    info: dict[str, float]

    def __getitem__(self, group: str) -> GroupBatch:
        return self.groups[group]


_OBS_MAGIC = b"GBO1"
_ACT_MAGIC = b"GBA1"


def _pad4(n: int) -> int:
    return (n + 3) & ~3


def decode_observation(data: bytearray) -> tuple[dict, Batch]:
    """An observation message ("GBO1") as (header, Batch); the arrays view ``data`` (no copy)."""
    if bytes(data[:4]) != _OBS_MAGIC:
        raise ValueError("not a Gibbs observation message")
    (hlen,) = struct.unpack_from("<I", data, 4)
    header = json.loads(bytes(data[8 : 8 + hlen]))
    off = _pad4(8 + hlen)
    buf = memoryview(data)

    def take(dtype, count, shape):
        nonlocal off
        size = np.dtype(dtype).itemsize * count
        a = np.frombuffer(buf[off : off + size], dtype=dtype).reshape(shape)
        off += _pad4(size)
        return a

    groups = {}
    for g in header["groups"]:
        n = g["capacity"]
        view_shape = g["view"]
        view = (
            take("<f4", n * int(np.prod(view_shape)), (n, *view_shape)) if view_shape else None
        )
        features = take("<f4", n * g["features"], (n, g["features"]))
        reward = take("<f4", n, (n,))
        alive = take(np.uint8, n, (n,)).view(np.bool_)
        terminated = take(np.uint8, n, (n,)).view(np.bool_)
        truncated = take(np.uint8, n, (n,)).view(np.bool_)
        groups[g["name"]] = GroupBatch(
            g["name"], view, features, reward, alive, terminated, truncated
        )
    batch = Batch(groups, header["step"], header["episode"], header["done"], header["info"])
    return header, batch


class GibbsParallelEnv:
    """A Gibbs world served with ``--serve HOST:PORT --external``, in PettingZoo's Parallel API
    shape. Agents are named ``<group>_<slot>`` (``red_0``); an observation is a dict with ``view``
    (height x width x channels, channels last; absent when the group has no view) and
    ``features``. ``reset_batch``/``step_batch`` give the same data as numpy arrays per group.

    Arrays returned by the batched form view the received message: they stay valid (and
    writable) after later steps, which arrive in new buffers.
    """

    metadata = {"name": "gibbs", "is_parallelizable": True}

    def __init__(self, url: str = "ws://127.0.0.1:8765", timeout: float | None = 60.0):
        self.ws = WebSocket(url, timeout=timeout)
        hello = json.loads(self._recv_text_of("hello"))
        if "external" not in hello:
            self.ws.close()
            raise GibbsError(
                f"{url} serves a run with its own policy; start it with --serve ... --external",
                "external",
                "a run started with --external",
            )
        self.info = hello["info"]
        self.spec = hello["external"]
        self.groups = [g["name"] for g in self.spec["groups"]]
        self._group = {g["name"]: g for g in self.spec["groups"]}
        self.possible_agents = [
            f"{g['name']}_{i}" for g in self.spec["groups"] for i in range(g["capacity"])
        ]
        self._where = {}
        for g in self.spec["groups"]:
            for i in range(g["capacity"]):
                self._where[f"{g['name']}_{i}"] = (g["name"], i)
        self.agents: list[str] = []
        self.last: Batch | None = None
        self._next_id = 0
        self._rng = np.random.default_rng()
        self._spaces = {
            g["name"]: Discrete(g["actions"], self._rng) for g in self.spec["groups"]
        }
        self.send({"type": "frames", "maxFps": 0})  # this client wants no render frames
        self._wait(self._last_id)

    # -- the protocol --

    def send(self, msg: dict) -> int:
        """Send a JSON message with a fresh id; returns the id."""
        self._next_id += 1
        self._last_id = self._next_id
        self.ws.send_text(json.dumps({**msg, "id": self._next_id}))
        return self._next_id

    def _recv_text_of(self, type_: str) -> str:
        while True:
            m = self.ws.recv()
            if isinstance(m, str) and json.loads(m).get("type") == type_:
                return m

    def _wait(self, id_: int) -> Any:
        """The answer to request ``id_``: a Batch (observation), or the JSON reply."""
        while True:
            m = self.ws.recv()
            if isinstance(m, str):
                msg = json.loads(m)
                t = msg.get("type")
                if t == "rejected" and msg.get("id") in (id_, None):
                    raise GibbsError(msg["message"], msg.get("field"), msg.get("expected"))
                if t == "error":
                    e = msg["error"]
                    raise GibbsError(f"the run failed: {e['message']}", e.get("field"))
                if msg.get("id") == id_:
                    return msg
            elif bytes(m[:4]) == _OBS_MAGIC:
                header, batch = decode_observation(m)
                if header.get("id") == id_:
                    return batch
            # render frames ("GBF1") and other watchers' traffic are ignored

    # -- batched form --

    def reset_batch(self, seed: int | None = None) -> Batch:
        """Start an episode; every group's arrays [capacity, ...] and alive masks."""
        msg: dict[str, Any] = {"type": "reset"}
        if seed is not None:
            msg["seed"] = int(seed)
        batch = self._wait(self.send(msg))
        self._set_last(batch)
        return batch

    def step_batch(self, actions: dict[str, np.ndarray] | list[np.ndarray]) -> Batch:
        """One step: an int array [capacity] per group (by name or in group order; dead slots'
        entries are ignored). Sent as one binary message."""
        if isinstance(actions, dict):
            unknown = set(actions) - set(self.groups)
            if unknown:
                raise GibbsError(
                    f"actions: unknown group(s) {sorted(unknown)}; groups are {self.groups}",
                    f"actions.{sorted(unknown)[0]}",
                )
            missing = [g for g in self.groups if g not in actions]
            if missing:
                raise GibbsError(f"actions.{missing[0]}: missing", f"actions.{missing[0]}")
            arrays = [actions[g] for g in self.groups]
        else:
            arrays = list(actions)
        parts = []
        for g, a in zip(self.groups, arrays):
            a = np.asarray(a)
            if a.dtype.kind not in "iub":
                raise GibbsError(
                    f"actions.{g}: got dtype {a.dtype}, expected integers",
                    f"actions.{g}",
                    "an integer array",
                )
            parts.append(np.ascontiguousarray(a, dtype="<i4").tobytes())
        self._next_id += 1
        lengths = [len(p) // 4 for p in parts]
        head = json.dumps({"type": "act", "id": self._next_id, "lengths": lengths}).encode()
        pad = b"\0" * (_pad4(8 + len(head)) - 8 - len(head))
        self.ws.send_binary(_ACT_MAGIC + struct.pack("<I", len(head)) + head + pad + b"".join(parts))
        batch = self._wait(self._next_id)
        self._set_last(batch)
        return batch

    def _set_last(self, batch: Batch) -> None:
        self.last = batch
        # PettingZoo's rule: an agent leaves `agents` once terminated or truncated.
        self.agents = (
            []
            if batch.done
            else [
                f"{name}_{i}"
                for name, g in batch.groups.items()
                for i in np.flatnonzero(g.alive & ~g.terminated & ~g.truncated)
            ]
        )

    # -- PettingZoo's Parallel API --

    def reset(self, seed: int | None = None, options: dict | None = None):
        """Observations and infos of the live agents, keyed by agent name."""
        batch = self.reset_batch(seed)
        return self._observations(batch, self.agents), {a: {} for a in self.agents}

    def step(self, actions: dict[str, int]):
        """Observations, rewards, terminations, truncations and infos of the agents that acted
        (those alive before the step); ``self.agents`` then holds the ones still alive."""
        before = self.agents
        if self.last is None:
            raise GibbsError("step before reset", "type", "reset first")
        arrays = {g: np.zeros(self._group[g]["capacity"], dtype=np.int32) for g in self.groups}
        for agent in before:
            if agent not in actions:
                raise GibbsError(
                    f"actions: no action for live agent {agent}", f"actions.{agent}", "an action"
                )
        for agent, a in actions.items():
            where = self._where.get(agent)
            if where is None:
                raise GibbsError(f"actions: unknown agent {agent!r}", f"actions.{agent}")
            arrays[where[0]][where[1]] = a
        batch = self.step_batch(arrays)
        obs = self._observations(batch, before)
        rewards, terms, truncs = {}, {}, {}
        for agent in before:
            g, i = self._where[agent]
            gb = batch.groups[g]
            rewards[agent] = float(gb.reward[i])
            terms[agent] = bool(gb.terminated[i])
            truncs[agent] = bool(gb.truncated[i])
        return obs, rewards, terms, truncs, {a: {} for a in before}

    def _observations(self, batch: Batch, agents: list[str]) -> dict[str, dict[str, np.ndarray]]:
        out = {}
        for agent in agents:
            g, i = self._where[agent]
            gb = batch.groups[g]
            o = {"features": gb.features[i]}
            if gb.view is not None:
                o["view"] = gb.view[i]
            out[agent] = o
        return out

    def observation_space(self, agent: str) -> dict[str, Box]:
        g = self._group[self._where[agent][0]]
        spaces = {"features": Box((g["features"],))}
        if g["view"]:
            v = g["view"]
            spaces["view"] = Box((v["height"], v["width"], v["channels"]))
        return spaces

    def action_space(self, agent: str) -> Discrete:
        return self._spaces[self._where[agent][0]]

    @property
    def num_agents(self) -> int:
        return len(self.agents)

    @property
    def max_num_agents(self) -> int:
        return len(self.possible_agents)

    def finish(self) -> None:
        """End the run on the server (every client gets ``end``; the server closes)."""
        try:
            self._wait(self.send({"type": "finish"}))
        except WebSocketClosed:
            pass
        self.ws.close()

    def close(self) -> None:
        """Leave (the run goes on for other clients; see finish())."""
        self.ws.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
