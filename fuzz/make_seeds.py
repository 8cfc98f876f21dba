#!/usr/bin/env python3
"""Writes the committed seed corpora fuzz/corpus/<target>/ from the test fixtures and the embedded
default model (small, real examples). Run from the repository root: python3 fuzz/make_seeds.py"""
import json, os, struct, shutil

R = "fuzz/corpus"

def put(target, name, data):
    d = os.path.join(R, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

def st(tensors, meta=None):
    """A safetensors file: tensors = [(name, dtype, shape, raw bytes)]."""
    header, data = {}, b""
    if meta is not None:
        header["__metadata__"] = meta
    for name, dt, shape, raw in tensors:
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data

def read_header(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n])

# ---- safetensors ----
put("safetensors", "filter-ref.safetensors", open("tests/fixtures/filter-ref.safetensors", "rb").read())
put("safetensors", "f32.safetensors", st([("a", "F32", [2, 2], struct.pack("<4f", 1, -2, 0.5, 3e38))], {"format": "pt"}))
put("safetensors", "f16-bf16.safetensors", st([("h", "F16", [3], struct.pack("<3H", 0x3c00, 0x0001, 0x7c00)),
                                                 ("b", "BF16", [2], struct.pack("<2H", 0x3f80, 0xff80))]))
put("safetensors", "ints-scalar-empty.safetensors", st([("s", "F64", [], struct.pack("<d", 2.5)),
                                                        ("e", "F32", [0, 4], b""),
                                                        ("i", "I64", [1], struct.pack("<q", -1)),
                                                        ("u", "U8", [3], b"abc"), ("f8", "F8_E4M3", [1], b"\x38")]))
# the real tiny GPT-2's header with a zero-filled buffer of the right size (names, shapes, offsets)
h = read_header("tests/fixtures/gpt2-tiny-bf16/model.safetensors")
keep = {k: v for k, v in h.items() if k == "__metadata__" or k.endswith("ln_f.weight") or k.endswith("ln_f.bias")}
off, hdr = 0, {}
for k, v in keep.items():
    if k == "__metadata__":
        hdr[k] = v
        continue
    n = v["data_offsets"][1] - v["data_offsets"][0]
    hdr[k] = dict(v, data_offsets=[off, off + n])
    off += n
hb = json.dumps(hdr).encode()
put("safetensors", "gpt2-tiny-bf16-lnf.safetensors", struct.pack("<Q", len(hb)) + hb + b"\0" * off)

# ---- sharded index (names of the fuzz target's tiny GPT-2, 1 layer) ----
names = ["transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.ln_1.weight",
         "transformer.h.0.ln_1.bias", "transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_attn.bias",
         "transformer.h.0.attn.c_proj.weight", "transformer.h.0.attn.c_proj.bias", "transformer.h.0.ln_2.weight",
         "transformer.h.0.ln_2.bias", "transformer.h.0.mlp.c_fc.weight", "transformer.h.0.mlp.c_fc.bias",
         "transformer.h.0.mlp.c_proj.weight", "transformer.h.0.mlp.c_proj.bias", "transformer.ln_f.weight",
         "transformer.ln_f.bias"]
put("st_index", "index.json", json.dumps({"metadata": {"total_size": 4096}, "weight_map": {
    n: "model-0000%d-of-00002.safetensors" % (1 if i < len(names) // 2 else 2) for i, n in enumerate(names)}}, indent=2))
put("st_index", "missing-shard.json", json.dumps({"weight_map": {names[0]: "model-00003-of-00002.safetensors"}}))
put("st_index", "wrong-shard.json", json.dumps({"weight_map": {names[0]: "model-00002-of-00002.safetensors"}}))

# ---- config.json ----
for m in ("gpt2-tiny", "gptj-tiny", "neox-tiny", "gpt2-tiny-bf16"):
    put("config", m + ".json", open("tests/fixtures/%s/config.json" % m).read())
put("config", "default.json", open("models/default/config.json").read())

# ---- tokenizers: the default model's, cut to its 256 byte tokens and first merges ----
tj = json.load(open("models/default/tokenizer.json"))
LIMIT = 300
vocab = {k: v for k, v in tj["model"]["vocab"].items() if v < LIMIT}
def merge_ok(m):
    l, r = m.split(" ") if isinstance(m, str) else m
    return l in vocab and r in vocab and (l + r) in vocab
merges = [m for m in tj["model"]["merges"] if merge_ok(m)]
small = dict(tj)
small["model"] = dict(tj["model"], vocab=vocab, merges=merges)
small["added_tokens"] = [dict(a, id=LIMIT) for a in tj.get("added_tokens", [])[:1]]
put("tokenizer_json", "default-300.json", json.dumps(small, ensure_ascii=False))
pairs = dict(small)
pairs["model"] = dict(small["model"], merges=[m.split(" ") if isinstance(m, str) else m for m in merges])
put("tokenizer_json", "default-300-pair-merges.json", json.dumps(pairs, ensure_ascii=False))
mtxt = "".join("%s\n" % (m if isinstance(m, str) else " ".join(m)) for m in merges)
vj = json.dumps(dict(vocab, **{"<|endoftext|>": LIMIT}), ensure_ascii=False)
put("tokenizer_pair", "vocab-merges", "\x00" + vj + "\n#=== merges ===\n#version: 0.2\n" + mtxt)
put("tokenizer_pair", "encoder-bpe", "\x01" + vj + "\n#=== merges ===\n#version: 0.2\n" + mtxt)

# ---- JSONL ----
put("jsonl", "corpus.jsonl", '{"id": "d1", "text": "It cost 12 dollars, 3 times 4.", "date": "2023-01-30"}\n'
    '\n{"text": "No id, no date."}\n{"id": "d3", "text": "Caf\\u00e9 \\ud83d\\ude00", "date": null}\n')
put("jsonl", "train.jsonl", '{"ids": [1, 2, 3], "loss_mask": [0, 1, 1]}\n{"text": "hello"}\n{"ids": []}\n')
put("jsonl", "plain.txt", "First document,\nstill the first.\n\nSecond document.\n\n\n")
put("jsonl", "passages.jsonl", "".join(open("tests/fixtures/search/passages.jsonl").readlines()[:3]))

put("jsonl", "shards.jsonl", '{"doc_index": 0, "text": "a"}\n{"doc_index": 2, "text": "c"}\n#=== shard ===\n'
    '{"doc_index": 1, "text": "b"}\n\n{"doc_index": 3}\n')
put("jsonl", "shards-progress.jsonl", '{"doc_index": 0, "text": "a"}\n#=== shard ===\n{"doc_index": 1, "text": "b"}\n'
    '#=== progress ===\n{"shard_k": 0, "shard_n": 2, "next_doc": 2, "complete": true}\n')

# ---- calls ----
for i, c in enumerate(["[Calculator(400 / 1400) -> 0.29]", "[QA(\"Who is the \\\"boss\\\"?\") -> Ann]",
                       "x [WikiSearch(Ghana flag) -> Flag of Ghana > red] y [Calendar()]",
                       "[Calculator((2+3)*4) ->", "[MT(\u00bfd\u00f3nde est\u00e1?)]", "[Tool_1.x-y (a) ->  b ]"]):
    put("call", "call%d" % i, c)

# ---- calculator ----
for i, e in enumerate(["27 + 4 * 2", "400 / 1400", "-(3 - 5) * 2.5", "658,893 / 11.4", "1 \u2212 2 \u00d7 3 \u00f7 4",
                       "The population is 658,893 people; 12 + 30 = 42 and the total of 7.5 is here.",
                       "((((1))))", "1,000,000.25 - .5"]):
    put("calculator", "expr%d" % i, e)

# ---- WikiSearch ----
for i, q in enumerate(["Ghana flag red meaning", "\"Metformin\" first-line drug", "NEAR(a b) OR c* ^d -e col:f",
                       "the of and", "Knights of Columbus were founded by Michael McGivney in",
                       "caf\u00e9 \u00fcber \u4e2d\u6587"]):
    put("wikisearch", "query%d" % i, q)

# ---- external tool replies ----
for i, r in enumerate(['{"result": "42"}', '{"error": "no such thing"}', '{"result": "a [b]\\n c"}',
                       '{"result": 3}', 'not json', '{"result": "one"}\n{"result": "two"}', '\x00DIE',
                       '{"result": "\\ud83d\\ude00 caf\\u00e9"}']):
    put("external", "reply%d" % i, r)
