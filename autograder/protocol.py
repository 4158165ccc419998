"""Data-only wire format between the trusted grader and the untrusted worker.

A frame is ``8-byte big-endian header length | JSON header | binary blob``.  The
header describes the value as a tree of tagged nodes; tensors point into the blob.
Only these node kinds exist: None, bool, int, float, str, list, tuple, dict (string
keys), tensor, helper (a grader-provided object named by the grader) and
``unsupported`` (a description of something that cannot cross, e.g. a numpy array
or a module).  Decoding never executes code from the other side: it builds fresh
built-in objects and fresh contiguous tensors from raw bytes, after checking sizes.
No pickle anywhere.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import torch

MAX_FRAME_BYTES = 512 * 1024 * 1024
MAX_HEADER_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 32
MAX_NODES = 100_000
MAX_STR = 1_000_000

DTYPES: dict[str, torch.dtype] = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int8": torch.int8,
    "uint8": torch.uint8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
    "complex64": torch.complex64,
    "complex128": torch.complex128,
}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}


class ProtocolError(Exception):
    """The other side sent something that is not a valid frame."""


@dataclass(frozen=True)
class Helper:
    """A grader-provided object (network, fake model, oracle) named by a registry key.

    Only the name and plain parameters cross the boundary; each side rebuilds the
    object with :func:`autograder.helpers.build`.
    """

    name: str
    params: dict = field(default_factory=dict)

    def __init__(self, name: str, **params: Any) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "params", params)

    def __hash__(self) -> int:  # params are plain data; hash by identity of the spec text
        return hash((self.name, json.dumps(_plain(self.params), sort_keys=True, default=str)))

    def build(self) -> Any:
        from autograder.helpers import build

        return build(self.name, self.params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Helper({self.name!r}{', ' if args else ''}{args})"


@dataclass(frozen=True)
class Unsupported:
    """Stands for a value the student returned that cannot cross the boundary."""

    type_name: str
    summary: str

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.summary}>"


def _plain(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


# --------------------------------------------------------------------------- encode


class _Encoder:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.offset = 0
        self.nodes = 0

    def enc(self, value: Any, depth: int = 0) -> Any:
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise ProtocolError("value is nested too deeply or has too many parts")
        t = type(value)
        if value is None:
            return {"k": "none"}
        if t is bool:
            return {"k": "bool", "v": value}
        if t is int:
            return {"k": "int", "v": str(value)}
        if t is float:
            return {"k": "float", "v": repr(value)}
        if t is str:
            return {"k": "str", "v": value}
        if t is list or t is tuple:
            return {"k": t.__name__, "v": [self.enc(v, depth + 1) for v in value]}
        if t is dict:
            items = []
            for k, v in value.items():
                if type(k) is not str:
                    return self.unsupported(value, "dict with non-string keys")
                items.append([k, self.enc(v, depth + 1)])
            return {"k": "dict", "v": items}
        if t is Helper:
            return {"k": "helper", "name": value.name, "params": self.enc(value.params, depth + 1)}
        if isinstance(value, torch.Tensor):
            return self.tensor(value)
        return self.unsupported(value)

    def tensor(self, value: torch.Tensor) -> Any:
        # Read through the base class so a subclass cannot alter what is sent.
        base = torch.Tensor.detach(value)
        if type(value) is not torch.Tensor:
            base = base.as_subclass(torch.Tensor)
        if base.is_sparse or base.layout != torch.strided:
            base = base.to_dense()
        dtype_name = DTYPE_NAMES.get(base.dtype)
        if dtype_name is None:
            return self.unsupported(value, f"tensor of dtype {base.dtype}")
        device = base.device.type
        cpu = base.to("cpu").contiguous()
        if dtype_name == "bfloat16":
            raw = cpu.view(torch.int16).numpy().tobytes()
        else:
            raw = cpu.numpy().tobytes()
        node = {
            "k": "tensor",
            "dtype": dtype_name,
            "shape": list(cpu.shape),
            "device": device,
            "off": self.offset,
            "n": len(raw),
            "sub": None if type(value) is torch.Tensor else type(value).__name__,
        }
        self.chunks.append(raw)
        self.offset += len(raw)
        return node

    def unsupported(self, value: Any, summary: str | None = None) -> Any:
        try:
            tname = type(value).__module__ + "." + type(value).__qualname__
        except Exception:  # noqa: BLE001 - hostile metaclass
            tname = "<unknown type>"
        if summary is None:
            summary = "cannot be sent to the grader"
            try:
                import numpy as np

                if isinstance(value, np.ndarray):
                    summary = f"numpy array of shape {tuple(value.shape)}"
            except Exception:  # noqa: BLE001
                pass
        return {"k": "unsupported", "type": str(tname)[:200], "summary": str(summary)[:200]}


def encode(value: Any) -> bytes:
    enc = _Encoder()
    header = json.dumps(enc.enc(value), ensure_ascii=True, allow_nan=False).encode()
    blob = b"".join(enc.chunks)
    return struct.pack(">Q", len(header)) + header + blob


def write_frame(stream: BinaryIO, value: Any) -> None:
    data = encode(value)
    # one write: a reader woken by the length alone would wait again for the rest
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


# --------------------------------------------------------------------------- decode


class _Decoder:
    def __init__(self, blob: memoryview, helpers: bool = True) -> None:
        self.blob = blob
        self.nodes = 0
        self.helpers = helpers
        self.devices: set[str] = set()  # the device types the sender's tensors were on

    def dec(self, node: Any, depth: int = 0) -> Any:
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise ProtocolError("value nested too deeply or too many parts")
        if type(node) is not dict or type(node.get("k")) is not str:
            raise ProtocolError("malformed node")
        k = node["k"]
        if k == "none":
            return None
        if k == "bool":
            v = node.get("v")
            if type(v) is not bool:
                raise ProtocolError("malformed bool")
            return v
        if k == "int":
            v = node.get("v")
            if type(v) is not str or len(v) > 4000:
                raise ProtocolError("malformed int")
            return int(v)
        if k == "float":
            v = node.get("v")
            if type(v) is not str or len(v) > 40:
                raise ProtocolError("malformed float")
            return float(v)
        if k == "str":
            v = node.get("v")
            if type(v) is not str or len(v) > MAX_STR:
                raise ProtocolError("malformed or too long string")
            return v
        if k in ("list", "tuple"):
            v = node.get("v")
            if type(v) is not list:
                raise ProtocolError("malformed sequence")
            items = [self.dec(x, depth + 1) for x in v]
            return items if k == "list" else tuple(items)
        if k == "dict":
            v = node.get("v")
            if type(v) is not list:
                raise ProtocolError("malformed dict")
            out = {}
            for pair in v:
                if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
                    raise ProtocolError("malformed dict item")
                out[pair[0]] = self.dec(pair[1], depth + 1)
            return out
        if k == "tensor":
            return self.tensor(node)
        if k == "helper":
            if not self.helpers:
                raise ProtocolError("a grader-provided object cannot come from the submission")
            name = node.get("name")
            if type(name) is not str:
                raise ProtocolError("malformed helper")
            params = self.dec(node.get("params"), depth + 1)
            if type(params) is not dict or "name" in params:
                raise ProtocolError("malformed helper params")
            return Helper(name, **params)
        if k == "unsupported":
            t, s = node.get("type"), node.get("summary")
            if type(t) is not str or type(s) is not str:
                raise ProtocolError("malformed unsupported node")
            return Unsupported(t[:200], s[:200])
        raise ProtocolError(f"unknown node kind {k[:20]!r}")

    def tensor(self, node: dict) -> torch.Tensor:
        name = node.get("dtype")
        dtype = DTYPES.get(name) if type(name) is str else None
        shape, off, n = node.get("shape"), node.get("off"), node.get("n")
        if dtype is None or type(shape) is not list or type(off) is not int or type(n) is not int:
            raise ProtocolError("malformed tensor")
        if len(shape) > 16 or any(type(s) is not int or s < 0 for s in shape):
            raise ProtocolError("malformed tensor shape")
        numel = math.prod(shape)
        itemsize = dtype.itemsize
        if numel * itemsize != n or off < 0 or off + n > len(self.blob):
            raise ProtocolError("tensor size does not match its data")
        if numel == 0:
            device = node.get("device")
            self.devices.add(device if type(device) is str else "?")
            return torch.empty(shape, dtype=dtype)
        raw = bytearray(self.blob[off : off + n])
        if dtype == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(raw, dtype=dtype)
        t = t.reshape(shape).clone()
        device = node.get("device")
        self.devices.add(device if type(device) is str else "?")
        return t


def decode(data: bytes, devices: set[str] | None = None, *, helpers: bool = True) -> Any:
    """Decode a frame into fresh built-in objects and CPU tensors.

    ``devices``, when given, receives the device types the sender's tensors were on
    (tensors always arrive on the CPU; the grader checks the device separately).
    ``helpers=False`` (the grader reading the worker's replies) refuses ``helper`` nodes: a
    grader-provided object is named by the grader, never by the student's process.
    Malformed input of any kind raises :class:`ProtocolError` and nothing else, so that a
    hostile frame is reported as the student's fault and never breaks the grader.
    """
    if len(data) < 8:
        raise ProtocolError("truncated frame")
    (hlen,) = struct.unpack(">Q", data[:8])
    if hlen > MAX_HEADER_BYTES or 8 + hlen > len(data):
        raise ProtocolError("header too large or truncated")
    try:
        header = json.loads(data[8 : 8 + hlen].decode("ascii"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # deep nesting: RecursionError
        raise ProtocolError(f"header is not valid JSON: {str(e)[:200]}") from None
    dec = _Decoder(memoryview(data)[8 + hlen :], helpers)
    try:
        value = dec.dec(header)
    except ProtocolError:
        raise
    except (ValueError, TypeError, OverflowError, RuntimeError, MemoryError) as e:
        # e.g. int("0x10"), or an empty tensor whose shape torch refuses to allocate
        raise ProtocolError(f"malformed value ({type(e).__name__}: {str(e)[:200]})") from None
    if devices is not None:
        devices |= dec.devices
    return value


def read_exact(stream: BinaryIO, n: int) -> bytes:
    parts = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError("stream closed")
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def read_frame(stream: BinaryIO) -> Any:
    (size,) = struct.unpack(">Q", read_exact(stream, 8))
    if size > MAX_FRAME_BYTES:
        raise ProtocolError(f"message of {size} bytes exceeds the {MAX_FRAME_BYTES} byte limit")
    return decode(read_exact(stream, size))
