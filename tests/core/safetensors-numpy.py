#!/usr/bin/env python3
# Reads and writes safetensors files with numpy alone (an 8-byte
# little-endian header length, a JSON header, raw little-endian data), to
# show that Lethe's checkpoints need nothing Lethe-specific to be read.
#
#   safetensors-numpy.py check FILE EXPECTED.json   compare FILE with the values
#   safetensors-numpy.py write FILE                 write a file as another writer would
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8", "U8": "u1", "I8": "i1"}


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]])
        tensors[name] = (info["dtype"], arr.reshape(info["shape"]))
    return tensors, meta, list(header.keys())


def check(path, expected_path):
    with open(expected_path) as f:
        expected = json.load(f)
    tensors, meta, order = read(path)
    problems = []
    if order != [t["name"] for t in expected["tensors"]]:
        problems.append("tensor order %r" % order)
    for t in expected["tensors"]:
        dtype, arr = tensors.get(t["name"], (None, None))
        if arr is None:
            problems.append("missing tensor %s" % t["name"])
            continue
        want = np.array(t["values"], dtype=np.float64).reshape(t["shape"])
        if dtype != t["dtype"] or list(arr.shape) != t["shape"]:
            problems.append("%s: %s %s" % (t["name"], dtype, list(arr.shape)))
        elif not np.array_equal(arr.astype(np.float64), want):
            problems.append("%s: values %r" % (t["name"], arr.ravel()[:8]))
    for key, value in expected["metadata"].items():
        if meta.get(key) != value:
            problems.append("metadata %s = %r, expected %r" % (key, meta.get(key), value))
    if problems:
        print("\n".join(problems))
        return 1
    print("ok %d tensors %d metadata" % (len(tensors), len(meta)))
    return 0


def write(path):
    # Name order, no padding: the f32 tensor lands at an odd offset.
    tensors = {
        "a_bytes": np.array([1, 2, 3, 4, 5], dtype="u1"),
        "b_weight": np.array([[0.5, -1.5], [2.25, 3.0]], dtype="<f4"),
        "c_index": np.array([-7, 1 << 40], dtype="<i8"),
    }
    header = {"__metadata__": {"format": "pt"}}
    blobs, offset = [], 0
    for name, arr in tensors.items():
        b = arr.tobytes()
        header[name] = {"dtype": {"u1": "U8", "<f4": "F32", "<i8": "I64"}[arr.dtype.str.replace("|", "")],
                        "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        sys.exit(write(sys.argv[2]))
    sys.exit("usage: safetensors-numpy.py check FILE EXPECTED.json | write FILE")
