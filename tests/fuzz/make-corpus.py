#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from real files.

Usage: tests/fuzz/make-corpus.py   (from the source root; needs the shared
data folder ../shared/data and Debian's dataset-fashion-mnist).
Seeds are named seed-*; inputs that once crashed a target are kept next to
them as crash-* and are never regenerated.  Everything stays small: the
fuzzer needs structure, not volume.
"""
import gzip
import json
import os
import shutil
import struct
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
SHARED = os.environ.get("LETHE_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
FMNIST = "/usr/share/datasets/fashion-mnist"


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def clear_seeds():
    if not os.path.isdir(CORPUS):
        return
    for target in os.listdir(CORPUS):
        for n in os.listdir(os.path.join(CORPUS, target)):
            if n.startswith("seed-"):
                os.remove(os.path.join(CORPUS, target, n))


def idx_seeds():
    with gzip.open(os.path.join(FMNIST, "train-images-idx3-ubyte.gz")) as f:
        images = f.read(16 + 3 * 784)
    with gzip.open(os.path.join(FMNIST, "train-labels-idx1-ubyte.gz")) as f:
        labels = f.read(8 + 10)
    put("idx", "fmnist-header-only", images[:16])
    put("idx", "fmnist-labels-header-only", labels[:8])
    # Three images, ten labels: headers rewritten to match the payload.
    small_images = images[:4] + struct.pack(">III", 3, 28, 28) + images[16:]
    small_labels = labels[:4] + struct.pack(">I", 10) + labels[8:]
    put("idx", "fmnist-3-images", small_images)
    put("idx", "fmnist-10-labels", small_labels)
    put("idx", "fmnist-10-labels.gz", gzip.compress(small_labels, mtime=0))
    put("idx", "f32-2x3", b"\0\0\x0d\x02" + struct.pack(">II", 2, 3) +
        struct.pack(">6f", 0, 1, 2, 3, 4, 5))
    put("idx", "f64-2", b"\0\0\x0e\x01" + struct.pack(">I", 2) + struct.pack(">2d", -1, 1))
    put("idx", "i16-4", b"\0\0\x0b\x01" + struct.pack(">I", 4) + struct.pack(">4h", 1, -2, 3, 4))
    put("idx", "i32-2", b"\0\0\x0c\x01" + struct.pack(">I", 2) + struct.pack(">2i", 7, 9))


def wfdb_samples():
    """The first 8 frames of PTB-XL record 00001_lr (12 signals, format 16)."""
    with open(os.path.join(SHARED, "ecg", "records", "00001_lr.dat"), "rb") as f:
        raw = f.read(12 * 8 * 2)
    flat = struct.unpack("<%dh" % (12 * 8), raw)
    return [[flat[k * 12 + s] for k in range(8)] for s in range(12)]


def encode(fmt, frames):
    """Interleaves frames (list of per-frame sample tuples) in a WFDB format."""
    flat = [v for fr in frames for v in fr]
    if fmt == 16:
        return struct.pack("<%dh" % len(flat), *flat)
    if fmt == 61:
        return struct.pack(">%dh" % len(flat), *flat)
    if fmt == 80:
        return bytes((max(-128, min(127, v)) + 128) & 0xff for v in flat)
    out = bytearray()  # 212
    for i in range(0, len(flat), 2):
        a = flat[i] & 0xfff
        b = flat[i + 1] & 0xfff if i + 1 < len(flat) else 0
        out += bytes([a & 0xff, (a >> 8) | ((b >> 8) << 4), b & 0xff])
    if len(flat) % 2:
        out = out[:-1]
    return bytes(out)


def clamp(fmt, v):
    if fmt == 80:
        return max(-127, min(127, v))
    if fmt == 212:
        return max(-2047, min(2047, v))
    return v


def record_input(header, dat):
    h = header.encode()
    return struct.pack("<H", len(h)) + h + dat


def wfdb_seeds():
    rec = os.path.join(SHARED, "ecg", "records")
    for n in ("00001_lr.hea", "s0010_re.hea"):
        with open(os.path.join(rec, n), "rb") as f:
            put("wfdb-header", n, f.read())
    with zipfile.ZipFile(os.path.join(SHARED, "ecg", "ludb-1.0.1.zip")) as z:
        base = "lobachevsky-university-electrocardiography-database-1.0.1/"
        put("wfdb-header", "ludb-1.hea", z.read(base + "data/1.hea"))
        for ext in ("i", "avf", "v6"):
            ann = z.read(base + "data/1." + ext)
            put("wfdb-annotations", "ludb-1." + ext, ann)
        put("wfdb-annotations", "ludb-2.ii-cut", z.read(base + "data/2.ii")[:64])
        csv = z.read(base + "ludb.csv").split(b"\n")
        put("csv", "ludb-head", b"\x00" + b"\n".join(csv[:6]) + b"\n")
    with zipfile.ZipFile(os.path.join(SHARED, "ecg", "cinc2021-sample.zip")) as z:
        heas = sorted(n for n in z.namelist() if n.endswith(".hea"))
        put("wfdb-header", "cinc-first.hea", z.read(heas[0]))
    # Hand-written MIT annotations: SKIP, AUX, NUM, SUB, CHN, a beat, end.
    words = [(59 << 10), 0, 1000, (1 << 10) | 5, (63 << 10) | 3]
    aux = b"(N\0\0"
    tail = [(60 << 10) | 2, (61 << 10) | 1, (62 << 10) | 1, (24 << 10) | 20, 0]
    put("wfdb-annotations", "handmade", struct.pack("<5H", *words) + aux +
        struct.pack("<5H", *tail))

    sig = wfdb_samples()
    leads = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    for fmt in (16, 61, 80, 212):
        s = [[clamp(fmt, v) for v in row] for row in sig]
        frames = list(zip(*s))
        lines = ["r 12 100 8"]
        for i, lead in enumerate(leads):
            ck = sum(s[i]) & 0xffff
            lines.append("r.dat %d 1000.0(0)/mV 16 0 %d %d 0 %s" % (fmt, s[i][0], ck, lead))
        put("wfdb-record", "ptbxl-8-frames-fmt%d" % fmt,
            record_input("\n".join(lines) + "\n# age: 56\n", encode(fmt, frames)))
    # A byte offset (as in the CinC .mat files), no sample count, no checksums.
    frames = list(zip(*sig[:2]))
    put("wfdb-record", "offset-24-no-count",
        record_input("r 2 500\nr.dat 16+24 1000/mV 16 0 0 0 0 i\nr.dat 16+24 1000/mV 16 0 0 0 0 ii\n",
                     b"\0" * 24 + encode(16, frames)))


def safetensors(tensors, meta=None):
    header = {}
    if meta:
        header["__metadata__"] = meta
    data = b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def safetensors_seeds():
    put("safetensors", "two-tensors", safetensors({
        "w": ("F32", [2, 3], struct.pack("<6f", *range(6))),
        "y": ("I32", [3], struct.pack("<3i", 1, 2, 3)),
    }, {"model-kind": "sequential", "arch": "mlp"}))
    put("safetensors", "all-dtypes", safetensors({
        "a": ("F64", [1], struct.pack("<d", 1.5)),
        "b": ("I64", [2], struct.pack("<2q", -1, 1)),
        "c": ("U8", [2, 2], bytes(4)),
        "d": ("I8", [1], b"\xff"),
        "e": ("F32", [], struct.pack("<f", 2.0)),
        "f": ("F32", [0, 4], b""),
    }))


def text_seeds():
    for n in sorted(os.listdir(os.path.join(ROOT, "schemas"))):
        if n.endswith(".schema"):
            with open(os.path.join(ROOT, "schemas", n), "rb") as f:
                put("schema", n, f.read())
    pipe = """# learn, evaluate, write
[pipeline]
description = fuzz seed
seed = 7

[train]
plugin = fz-source
images = train.gz
classes = 0,1,2

[test]
plugin = fz-source
images = test.gz
count = 20
normalize = no

[learn]
plugin = fz-learner
input = train.data
requests = train.requests
epochs = 3
lr = 0.05
optimizer = adam
weights = 0.5, 0.25
tag = first run

[report]
plugin = fz-eval
model = learn.model
data = test

[sink]
plugin = fz-sink
input = report
path = metrics.csv
"""
    put("pipeline", "full.lethe", pipe)
    put("pipeline", "unknown-param.lethe", "[pipeline]\n[a]\nplugin = fz-source\nimages = x\ncuont = 3\n")
    put("pipeline", "cycle.lethe", "[a]\nplugin = fz-learner\ninput = b\nepochs = 1\n"
        "[b]\nplugin = fz-learner\ninput = a.model\nepochs = 1\n")
    bad = os.path.join(ROOT, "tests", "pipelines", "bad")
    for n in sorted(os.listdir(bad)):
        with open(os.path.join(bad, n), "rb") as f:
            put("pipeline", "bad-" + n, f.read())
    put("csv", "quoted", b"\x04a,\"b,c\",\"d\"\"e\"\r\n1,2,3\r\n\"4\n5\",nan,\n")
    put("csv", "tabs", b"\x06x\ty\n1.5\t-2e3\n")


def registry_seeds():
    put("registry-cache", "header-only", b"LETHEREG" + struct.pack("<II", 2, 0x01020304))
    # A real cache, as `lethe registry --update` writes it, when a build has one.
    for cand in ("build/test-cache/lethe-1/registry.bin",):
        p = os.path.join(ROOT, cand)
        if os.path.exists(p) and os.path.getsize(p) < 65536:
            with open(p, "rb") as f:
                data = f.read()
            # The build machine's folder becomes /srcxxx…, same length (the
            # GVariant offsets stay valid).
            root = ROOT.encode()
            data = data.replace(root, b"/src" + b"x" * (len(root) - 4))
            put("registry-cache", "test-cache.bin", data)


clear_seeds()
idx_seeds()
wfdb_seeds()
safetensors_seeds()
text_seeds()
registry_seeds()
