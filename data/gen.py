#!/usr/bin/env python3
"""gen.py — the data recipe's generator (stdlib only; called by data/make_data.sh).

Reads text and tables from installed Debian packages, splits entities, numbers and dates into
pretraining / annotation / held-out groups, and writes the JSONL corpora into OUT_DIR.
Deterministic: one random.Random(seed), every set sorted before it is sampled.

usage: gen.py OUT_DIR [--quick] [--seed N]
"""
import glob
import gzip
import json
import os
import random
import re
import subprocess
import sys
import datetime as dt

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wordings  # noqa: E402  (the annotation texts' grammars)

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]

# Years whose dates appear only in the held-out date set; all other generated dates lie in
# TRAIN_YEARS. Chosen above the arithmetic range so that they are never arithmetic values.
HELDOUT_YEARS = [2009, 2018, 2027]
TRAIN_YEARS = [y for y in range(1992, 2036) if y not in HELDOUT_YEARS]
# Annotation texts also date from years that pretraining never saw (2036-2196, every fourth), so
# that fine-tuning on calls shows years being copied that the model cannot have memorised (added
# when GPT-2's pre-tokenizer made every pretraining year one token and split the held-out ones;
# the default's tokenizer now spells every year digit by digit).
ANNOT_YEARS = TRAIN_YEARS + list(range(2036, 2200, 4))

# The annotation texts' shares of arithmetic, dates and capitals
ANNOT_SHARES = (0.36, 0.30, 0.34)
# The share of annotation texts written by data/wordings.py's grammars (the rest: the templates)
ANNOT_WORDINGS = 0.65
# The share of the grammars' capital texts that ask for an invented country's capital
ANNOT_INVENTED = 0.7
# arithmetic: of the texts the share above leaves to the templates, this share goes to the grammars
# too (word problems need more examples than sums in the templates' few wordings)
ANNOT_WORDINGS_MATH_EXTRA = 0.45
# dates: of the grammars' annotation texts about today, this share is an open-ended sentence
# (wordings.date_open_text), where nothing asks for the date and it is just how the sentence goes on
ANNOT_OPEN_DATES = 0.6

NUM_RE = re.compile(r"(?<![\d.])\d+(?![\d])")


def die(msg):
    sys.stderr.write("gen.py: " + msg + "\n")
    sys.exit(1)


# ----------------------------------------------------------------------------------------------
# sources


def read_kjv():
    """KJV chapters as (name, text), verse references dropped."""
    try:
        out = subprocess.run(["bible", "-f", "-p", "/usr/lib", "gen1:1-rev22:21"], check=True,
                             capture_output=True).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.CalledProcessError) as e:
        die("cannot dump the KJV with `bible` (package bible-kjv): %s" % e)
    chapters, cur, key = [], [], None
    for line in out.splitlines():
        m = re.match(r"^(\S+?)(\d+):(\d+) (.*)$", line)
        if not m:
            if cur and line.strip():
                cur[-1] += " " + line.strip()
            continue
        k = (m.group(1), m.group(2))
        if k != key:
            if cur:
                chapters.append(("%s %s" % key, " ".join(cur)))
            cur, key = [], k
        cur.append(m.group(4).strip())
    if cur:
        chapters.append(("%s %s" % key, " ".join(cur)))
    if len(chapters) < 1000:
        die("KJV dump has only %d chapters" % len(chapters))
    return chapters


def read_fortunes():
    base = "/usr/share/games/fortunes"
    files = sorted(f for f in glob.glob(base + "/*")
                   if os.path.isfile(f) and not f.endswith((".dat", ".u8"))
                   and os.path.basename(f) not in ("ascii-art", "art"))
    if not files:
        die("no fortunes in %s (package fortunes)" % base)
    out = []
    for f in files:
        raw = open(f, "rb").read().decode("utf-8", "replace")
        raw = re.sub(r".\x08", "", raw)
        for c in raw.split("\n%\n"):
            c = c.strip("%\n ")
            if len(c) < 20:
                continue
            # keep the line structure of poems and dialogue, normalise whitespace inside lines
            lines = [re.sub(r"[ \t]+", " ", l).strip() for l in c.splitlines()]
            c = "\n".join(l for l in lines if l)
            out.append(c)
    return out


def read_wordnet():
    """(words, gloss) per synset, in file order."""
    out = []
    for pos in ("noun", "verb", "adj", "adv"):
        path = "/usr/share/wordnet/data." + pos
        if not os.path.exists(path):
            die("missing %s (package wordnet-base)" % path)
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith(" ") or "|" not in line:
                    continue
                head, gloss = line.split("|", 1)
                f = head.split()
                n = int(f[3], 16)
                words = [f[4 + 2 * i].replace("_", " ") for i in range(n)]
                words = [re.sub(r"\([a-z]+\)$", "", w) for w in words]
                out.append((words, gloss.strip()))
    return out


def read_countries():
    path = "/usr/share/misc/countries.gz"
    if not os.path.exists(path):
        die("missing %s (package miscfiles)" % path)
    out = []
    for line in gzip.open(path, "rt", encoding="utf-8"):
        if line.startswith("#"):
            continue
        f = line.rstrip("\n").split(":")
        if len(f) < 5 or not f[4].strip():
            continue
        name, cap = f[3].strip(), f[4].strip()
        cap = re.sub(r"\s*\(.*$", "", cap).split(",")[0].strip().lstrip("'")
        out.append((name, cap))
    return out


def read_city_names():
    """The city names of miscfiles' cities.dat (letters only), for the invented countries' letter model."""
    path = "/usr/share/misc/cities.dat.gz"
    if not os.path.exists(path):
        die("missing %s (package miscfiles)" % path)
    return sorted(set(m.group(1) for m in re.finditer(r"^Name\s*:\s*([A-Za-z]+)\s*$",
                                                         gzip.open(path, "rt", encoding="utf-8", errors="replace").read(),
                                                         re.M)))


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def invented_countries(rng, names, n, avoid, near):
    """n invented (country, capital) pairs whose names sound like real places: a letter model (3
    letters of context) of `names`, sampled. No name is in `avoid` (any word the recipe writes
    elsewhere) or within 2 edits of a word of `near` (the held-out countries and capitals), so that
    WikiSearch's spelling correction never takes a garbled held-out query to an invented country."""
    model = {}
    for w in names:
        w = "^^^" + w.lower() + "$"
        for i in range(3, len(w)):
            model.setdefault(w[i - 3:i], []).append(w[i])
    near = [w.lower() for w in near]
    made, seen = [], set()
    while len(made) < 2 * n:
        ctx, w = "^^^", ""
        while len(w) < 12:
            ch = rng.choice(model[ctx])
            if ch == "$":
                break
            w += ch
            ctx = ctx[1:] + ch
        if not 5 <= len(w) <= 11 or w in seen:
            continue
        seen.add(w)
        if w.capitalize() in avoid or any(edit_distance(w, x) <= 2 for x in near):
            continue
        made.append(w.capitalize())
    return list(zip(made[0::2], made[1::2]))


def read_elements():
    path = "/usr/share/games/bsdgames/quiz/elements"
    if not os.path.exists(path):
        die("missing %s (package bsdgames)" % path)
    out = []
    for line in open(path, encoding="utf-8", errors="replace"):
        f = line.strip().split(":")
        if len(f) == 4 and f[1].isdigit():
            out.append((f[0], int(f[1]), f[2], f[3].split("|")[0]))
    return out


def read_dict_elements():
    path = "/usr/share/dictd/elements.dict.dz"
    if not os.path.exists(path):
        return []
    raw = gzip.open(path, "rt", encoding="utf-8", errors="replace").read()
    out = []
    for block in re.split(r"\n(?=[a-z]+\n)", raw):
        lines = [l.strip() for l in block.strip().splitlines() if l.strip()]
        if len(lines) < 3 or not lines[0].isalpha():
            continue
        title = lines[0].capitalize()
        body = " ".join(lines[1:])
        if "Symbol" in body:
            out.append((title, body))
    return out


def read_states():
    path = "/usr/share/games/bsdgames/quiz/state"
    out = []
    if os.path.exists(path):
        for line in open(path, encoding="utf-8", errors="replace"):
            f = line.strip().split(":")
            if len(f) >= 2:
                out.append((f[0].split("|")[0], f[1].split("|")[0]))
    return out


# ----------------------------------------------------------------------------------------------
# helpers


class Gen:
    def __init__(self, rng, reserved_nums):
        self.rng = rng
        self.reserved = reserved_nums

    def num(self, lo, hi):
        while True:
            v = self.rng.randint(lo, hi)
            if v not in self.reserved:
                return v

    def ok(self, *vals):
        return all(int(v) not in self.reserved for v in vals if float(v).is_integer())

    def pick(self, xs):
        return xs[self.rng.randrange(len(xs))]

    def date(self, years):
        y = self.pick(years)
        d0 = dt.date(y, 1, 1)
        return d0 + dt.timedelta(days=self.rng.randrange(365))


def date_parts(d):
    return WEEKDAYS[d.weekday()], MONTHS[d.month - 1], d.day, d.year


def calendar_text(d):
    w, m, day, y = date_parts(d)
    return "Today is %s, %s %d, %d." % (w, m, day, y)


# Word tokens for the split's own checks. NOTE: the pretraining corpus of the committed default model
# was generated with exactly these rules; changing them changes pretrain.jsonl (see data/README.md).
WORD_RE = re.compile(r"[A-Za-z\u00C0-\u024F'-]+")
# Stricter tokens for the final held-out check (any letter/digit run, as tests/test_data_recipe.c)
STRICT_WORD_RE = re.compile(r"[A-Za-z0-9]+")
DIGITS_RE = re.compile(r"\d+")


class Mentions:
    """Fast check whether a text mentions any of a set of names (whole words / word sequences)."""

    def __init__(self, names):
        names = sorted(set(n for n in names if n))
        self.single = set(n for n in names if WORD_RE.fullmatch(n))
        self.multi = [n for n in names if n not in self.single]
        self.multi_re = [re.compile(r"(?<![A-Za-z])" + re.escape(n) + r"(?![A-Za-z])") for n in self.multi]

    def search(self, text):
        if self.single and not self.single.isdisjoint(WORD_RE.findall(text)):
            return True
        for n, r in zip(self.multi, self.multi_re):
            if n in text and r.search(text):
                return True
        return False


def has_any(text, m):
    return m is not None and m.search(text)


def word_re(words):
    return Mentions(words)


SYL = ["ka", "lo", "mi", "ren", "tu", "sa", "vo", "del", "qua", "ni", "bor", "ze", "fa", "lin",
       "gor", "pe", "tan", "ul", "is", "mar", "ko", "wen", "shi", "ta", "rum", "bel", "dra", "xo"]


def pseudo_word(rng, lo=2, hi=3):
    return "".join(rng.choice(SYL) for _ in range(rng.randint(lo, hi))).capitalize()


def pronoun(p):
    return "she" if p in ("Anna", "Clara", "Ella", "Grace", "Ida", "Karen", "Maria", "Olga", "Rosa", "Vera") else "he"


ITEMS = ["apples", "pears", "plums", "eggs", "books", "chairs", "lamps", "coins", "stamps",
         "shirts", "boxes", "bottles", "tickets", "nails", "cards", "cups", "sheep", "trees",
         "bricks", "letters", "pencils", "melons", "baskets", "ropes", "candles", "hats"]
PEOPLE = ["Anna", "Ben", "Clara", "David", "Ella", "Frank", "Grace", "Henry", "Ida", "Jack",
          "Karen", "Leo", "Maria", "Noah", "Olga", "Paul", "Rosa", "Sam", "Tom", "Vera"]
PLACES = ["store", "farm", "school", "library", "bakery", "market", "museum", "shop", "office",
          "warehouse", "garden", "factory"]


# ----------------------------------------------------------------------------------------------
# arithmetic sentences: (text_before_result, result, text_after)


def arith_sentence(g, kind=None, lo=10, hi=999):
    """One arithmetic sentence whose result is stated: returns (prefix, a, op, b, r, suffix).
    prefix ends right before the result."""
    rng = g.rng
    while True:
        kind = kind or rng.choice(["add", "add", "add", "sub", "sub", "mul"])
        if kind == "add":
            a, b = g.num(lo, hi), g.num(lo, hi)
            r, op = a + b, "+"
        elif kind == "sub":
            a, b = g.num(lo, hi), g.num(lo, hi)
            if a < b:
                a, b = b, a
            r, op = a - b, "-"
            if r < 2:
                continue
        else:
            a, b = g.num(2, 12), g.num(lo, min(hi, 199))
            r, op = a * b, "*"
        if not g.ok(a, b, r):
            kind = None if kind is None else kind
            continue
        break
    return kind, a, op, b, r


ADD_T = [
    "The {place} sells {a} {x} and {b} {y}, a total of ",
    "{p} counted {a} {x} in the morning and {b} in the afternoon, so {n} counted ",
    "There were {a} {x} on the first shelf and {b} on the second, which makes ",
    "Last year the {place} had {a} visitors in spring and {b} in autumn, a total of ",
    "{p} has {a} {x} and buys {b} more, so now {n} has ",
    "Adding {a} and {b} gives ",
    "The sum of {a} and {b} is ",
    "{a} plus {b} equals ",
]
SUB_T = [
    "The {place} had {a} {x} and sold {b}, so it has ",
    "{p} had {a} {x} and gave away {b}, leaving ",
    "Out of {a} {x}, {b} were broken, so the number of good ones is ",
    "The difference between {a} and {b} is ",
    "{a} minus {b} equals ",
    "A road of {a} meters has {b} meters paved, so the part left is ",
]
MUL_T = [
    "Each box holds {b} {x}, so {a} boxes hold ",
    "{p} buys {a} bags of {b} {x} each, which is ",
    "{a} times {b} equals ",
    "The product of {a} and {b} is ",
]


SUFFIX = {"add": ["{x} in all.", "{x}.", "."], "sub": ["{x}.", "."], "mul": ["{x}.", "."]}


def arith_text(g, kind=None, lo=10, hi=999, clean_end=False):
    """(prefix, r, suffix, a, op, b) — prefix ends where the result starts."""
    rng = g.rng
    kind, a, op, b, r = arith_sentence(g, kind, lo, hi)
    t = rng.choice({"add": ADD_T, "sub": SUB_T, "mul": MUL_T}[kind])
    p = rng.choice(PEOPLE)
    x, y = rng.sample(ITEMS, 2)
    prefix = t.format(a=a, b=b, x=x, y=y, p=p, n=pronoun(p), place=rng.choice(PLACES))
    prefix = prefix[0].upper() + prefix[1:]
    if clean_end:  # annotation: the item's name where the sentence counts items not yet named
        names_item = t.endswith(("counted ", "has ", "makes ", "boxes hold ", "which is "))
        suffix = " %s." % x if names_item and rng.random() < 0.7 else "."
        return prefix, r, suffix, a, op, b
    # pretraining (kept as generated for the committed model; the ending is mostly ".")
    rng.choice(SUFFIX[kind])
    if "{x}" in t or "visitors" in t:
        suffix = "." if rng.random() < 0.5 else rng.choice([" in all.", "."])
    else:
        suffix = "."
    return prefix, r, suffix, a, op, b


# ----------------------------------------------------------------------------------------------
# copying curriculum (pretraining): a value stated earlier recurs later, in many layouts


def value_any(g):
    rng = g.rng
    k = rng.random()
    if k < 0.45:
        return str(g.num(0, 9999))
    if k < 0.55:
        return "%d.%02d" % (g.num(0, 999), rng.randrange(100))
    if k < 0.8:
        return pseudo_word(rng)
    if k < 0.9:
        return "%s %s" % (pseudo_word(rng), pseudo_word(rng))
    d = g.date(TRAIN_YEARS)
    return "%s %d, %d" % (MONTHS[d.month - 1], d.day, d.year)


def copy_doc(g, words):
    """A short document in one of many layouts where a value stated earlier recurs."""
    rng = g.rng
    v = value_any(g)
    key = rng.choice(["total", "sum", "result", "answer", "value", "count", "note", "code", "name",
                      "score", "price", "size", "key", "id", "label", "answer is"])
    ctx = " ".join(rng.sample(words, rng.randint(2, 6)))
    layouts = [
        "({k} {v}) The {k} was {v}.",
        "The {k} ({v}) is {v}.",
        "{ctx} [{k}: {v}] so the {k} is {v}.",
        "{ctx} [{ctx2} -> {v}] {v}",
        "{ctx} -> {v}. Again: {ctx} -> {v}.",
        "{k}: {v}\n{k2}: {v2}\nWhat is the {k}? {v}",
        "{k2}: {v2}, {k}: {v}. The {k} is {v} and the {k2} is {v2}.",
        "[note: {v}] The note said {v}.",
        "{ctx} (-> {v}) {v}",
        "{ctx} = {v}; therefore {v}.",
        "Q: {ctx}? [{v}] A: {v}",
        "\"{v}\", she said, and then again, \"{v}\".",
        "{ctx} [{ctx2} -> {v}] is {v}.",
        "Input: {ctx}. Output: {v}. The output was {v}.",
        "{ctx}: {v}. {ctx2}: {v2}. {ctx}: {v}.",
        "Remember {v}. Later, the word to remember was {v}.",
        "{k} = {v} ... {k} is {v}",
        "[{k} -> {v}] The {k} is {v}.",
        "({ctx} -> {v}) {v}",
        "The list reads {v}, {v2}, {v3}. Read it again: {v}, {v2}, {v3}.",
    ]
    lay = rng.choice(layouts)
    return lay.format(k=key, v=v, ctx=ctx, ctx2=" ".join(rng.sample(words, rng.randint(1, 4))),
                      k2=rng.choice(["size", "weight", "color", "town", "year", "code"]),
                      v2=value_any(g), v3=value_any(g))


def copy_seq_doc(g, words):
    """Induction curriculum: a random sequence of words / numbers, repeated."""
    rng = g.rng
    n = rng.randint(4, 16)
    if rng.random() < 0.5:
        seq = [rng.choice(words) for _ in range(n)]
    else:
        seq = [str(g.num(0, 9999)) if rng.random() < 0.5 else pseudo_word(rng, 1, 3) for _ in range(n)]
    s = " ".join(seq)
    sep = rng.choice([" | ", "\n", ". ", " ; ", " -> ", " = ", " [again] "])
    reps = rng.randint(2, 3)
    return sep.join([s] * reps)


def copy_arith_doc(g):
    """Arithmetic where the result is stated earlier in some layout, then recurs."""
    rng = g.rng
    prefix, r, suffix, a, op, b = arith_text(g)
    e = "%d %s %d" % (a, op, b)
    lead = rng.choice([
        "({e} = {r}) ", "[{e} -> {r}] ", "({e} -> {r}) ", "[{r}] ", "(total {r}) ", "[result: {r}] ",
        "{e} = {r}. ", "Note: {r}. ", "[sum: {r}] ", "(= {r}) ", "[{e} = {r}] ",
    ]).format(e=e, r=r)
    k = rng.random()
    if k < 0.35:  # lead before the sentence
        return lead + prefix + str(r) + suffix
    if k < 0.8:  # lead placed right before the result, in the call's position
        return prefix.rstrip() + " " + lead + str(r) + suffix
    return prefix + str(r) + suffix + " " + rng.choice(["Check: %s = %d." % (e, r), "So the answer is %d." % r,
                                                         "(%s -> %d)" % (e, r)])


def dated_doc(g, years):
    """A dated text whose content depends on the date, and copies it."""
    rng = g.rng
    d = g.date(years)
    w, m, day, y = date_parts(d)
    weekend = d.weekday() >= 5
    head = rng.choice(["%s, %s %d, %d." % (w, m, day, y), "%s %d, %d (%s)." % (m, day, y, w),
                       "Date: %d-%02d-%02d." % (y, d.month, day), "(%s)" % calendar_text(d),
                       "[date -> %s]" % calendar_text(d), "%s" % calendar_text(d)])
    if rng.random() < 0.4:
        # the date stated right before the word that needs it, where a Calendar call goes, in the
        # phrasings the annotation texts use ("The current year is [date -> Today is ...] 2023.")
        kind, t = rng.choice(DATE_FORMS)
        ans = date_answer(kind, d)[0]
        before, after = t.split("{ans}")
        note = rng.choice(["[date -> %s] ", "(%s) ", "[%s] ", "[today -> %s] "]) % calendar_text(d)
        return before.format(w=w, m=m) + note + ans + after
    body = rng.choice([
        "Today is {w}, so the {pl} is {oc}.",
        "The {pl} is never open on the weekend, so today it is {oc}.",
        "It is {w} today and the month is {m}.",
        "This year is {y}. The month is {m} and the day is {w}.",
        "Dear diary, today is {w}. It is {m} {day}, {y}.",
        "On this {w} in {m}, {p} walked to the {pl}.",
        "We are in {m} of {y}; it is a {w}.",
        "Because it is {w}, {p} stays at home.",
        "The {pl} opens on weekdays only. Today is {w}, so it is {oc}.",
    ]).format(w=w, m=m, day=day, y=y, pl=rng.choice(PLACES), oc=("closed" if weekend else "open"),
              p=rng.choice(PEOPLE))
    if rng.random() < 0.3:
        body += " " + rng.choice(["Tomorrow is %s." % WEEKDAYS[(d.weekday() + 1) % 7],
                                  "Yesterday was %s." % WEEKDAYS[(d.weekday() - 1) % 7],
                                  "Next month is %s." % MONTHS[d.month % 12]])
    return head + " " + body


def capital_passage(c, cap):
    """A country's WikiSearch passage (passages.jsonl)."""
    return "The capital of {c} is {cap}. The government of {c} sits in {cap}, the capital city of {c}.".format(c=c, cap=cap)


def search_result(c, cap):
    """A country's passage as WikiSearch returns it: "title > text"."""
    return c + " > " + capital_passage(c, cap)


def search_note_text(rng, c, cap):
    """A capital question with the search passage (as passages.jsonl holds it) stated right before
    the answer, where a WikiSearch call goes: the query copies the country, the answer the capital."""
    q = rng.choice(["capital city {c}", "capital of {c}", "{c}", "{c} capital"]).format(c=c)
    passage = search_result(c, cap)
    before, after = rng.choice(FACT_FORMS).format(c=c, ans="\0").split("\0")
    note = rng.choice(["[%s -> %s] " % (q, passage), "(%s) " % passage])
    return before + note + cap + after


def fact_doc(g, countries, elements, states):
    rng = g.rng
    k = rng.random()
    if k < 0.45 and countries:
        c, cap = rng.choice(countries)
        if rng.random() < 0.3:
            return search_note_text(rng, c, cap)
        return rng.choice([
            "The capital of {c} is {cap}.",
            "{cap} is the capital of {c}.",
            "{c}: capital {cap}.",
            "{c}'s capital city is {cap}. Many people live in {cap}.",
            "[capital of {c} -> {c} > The capital of {c} is {cap}.] {cap}",
            "(The capital of {c} is {cap}.) The capital of {c} is {cap}.",
            "Country: {c}. Capital: {cap}. The capital city of {c} is {cap}.",
        ]).format(c=c, cap=cap)
    if k < 0.7:
        # invented countries: teach copying of unseen names from a stated fact
        c, cap = pseudo_word(rng, 2, 3), pseudo_word(rng, 2, 3)
        if rng.random() < 0.4:
            return search_note_text(rng, c, cap)
        return rng.choice([
            "{c} > The capital of {c} is {cap}. So the capital of {c} is {cap}.",
            "[capital of {c} -> {c} > The capital of {c} is {cap}.] The capital of {c} is {cap}.",
            "({c}: capital {cap}) The capital of {c} is {cap}.",
            "In the story, the capital of {c} is {cap}. Later we learn that {c}'s capital city is {cap}.",
            "The map says {c} -> {cap}. The capital city of {c} is called {cap}.",
        ]).format(c=c, cap=cap)
    if k < 0.88 and elements:
        sym, num, wt, name = rng.choice(elements)
        return rng.choice([
            "The atomic number of {n} is {z}.", "{n} has the symbol {s} and atomic number {z}.",
            "The symbol for {n} is {s}.", "{n} ({s}) has an atomic weight of {w}.",
            "Element {z} is {n}.",
        ]).format(n=name, s=sym, z=num, w=wt)
    if states:
        st, cap = rng.choice(states)
        return rng.choice(["The capital of the state of {s} is {c}.", "{c} is the capital of {s}."]).format(s=st, c=cap)
    return ""


def note_before(text, ans, note):
    """text with note inserted right before the last occurrence of ans (a whole word or number)."""
    m = None
    for m in re.finditer(r"(?<![A-Za-z0-9.])" + re.escape(ans) + r"(?![A-Za-z0-9])", text):
        pass
    if m is None:
        die("gen.py: the answer %r is not in the text %r" % (ans, text))
    return text[:m.start()] + note + text[m.start():]


def wording_doc(g, countries, invented):
    """A text of data/wordings.py's grammars (a word problem, a question about today, a capital in
    a story), in two of three with what the tool would say stated right before the answer, where the
    call goes, in brackets as a call is written (with the other notes' parentheses too, a model wrote
    "(12 + 7 = 19)" there instead of a call): the pretraining twin of the annotation texts, so that
    the model has read each need in many wordings, and the Calculator's expression, the date and the
    search passage copied into place, before any fine-tuning (the annotation texts, their countries
    and numbers stay unseen). The open-ended date sentences are annotation texts only: a default
    pretrained on them too did worse on the validation sets (docs/demo.md)."""
    rng = g.rng
    k = rng.random()
    if k < 0.45:
        text, ans, e = wordings.math_parts(g)
        note = rng.choice(["[{e} -> {r}] ", "[{e} = {r}] "]).format(e=e, r=ans)
    elif k < 0.7:
        d = g.date(TRAIN_YEARS)
        text, ans = wordings.date_parts_text(g, d)
        note = rng.choice(["[date -> %s] ", "[%s] ", "[today -> %s] "]) % calendar_text(d)
    else:
        c, ans = rng.choice(countries) if rng.random() < 0.3 else rng.choice(invented)
        text = wordings.fact_text(g, c, ans)
        q = rng.choice(["{c}", "{c}", "capital of {c}", "{c} capital"]).format(c=c)
        passage = search_result(c, ans)
        note = rng.choice(["[%s -> %s] " % (q, passage), "[%s] " % passage])
    return note_before(text, ans, note) if rng.random() < 2 / 3 else text


# ----------------------------------------------------------------------------------------------
# annotation and evaluation forms (shared templates, so eval prompts look like annotation text)

LEADS = ["", "", "", "Here is a short note. ", "The report was short. ", "It was a busy week. ",
         "Everyone agreed on this. ", "This is written in the town's book. ", "A clerk wrote it down. "]
TAILS = ["", "", "", " Nobody was surprised.", " That was enough for now.", " The work went on.",
         " It was written down twice."]

DATE_FORMS = [
    # (kind, template with {ans} where the answer starts; the text before {ans} is the prompt)
    ("weekday", "Today is {ans}."),
    ("weekday", "Dear diary, today is {ans}."),
    ("weekday", "The day of the week today is {ans}."),
    ("month", "The current month is {ans}."),
    ("month", "It is now the month of {ans}."),
    ("year", "The current year is {ans}."),
    ("year", "This year is {ans}."),
    ("day", "Today is {w}, {m} {ans}."),
]
# annotation-only forms: the whole date follows the call position, so a Calendar call helps
# several tokens (the filter weighs the next five)
DATE_FULL_FORMS = [
    "Today is {w}, {m} {d}, {y}.",
    "Dear diary, today is {w}, {m} {d}, {y}.",
    "The date today is {m} {d}, {y}, a {w}.",
    "This letter is written on {w}, {m} {d}, {y}.",
    "It is {m} {y} now, and today is a {w}.",
]
FACT_FORMS = [
    "The capital of {c} is {ans}.",
    "{c}'s capital city is {ans}.",
    "The capital city of {c} is called {ans}.",
    "The government of {c} sits in {ans}.",
]


def date_answer(kind, d):
    w, m, day, y = date_parts(d)
    return {"weekday": w, "month": m, "year": str(y), "day": str(day)}[kind], w, m


def openclosed_text(g, d):
    w = WEEKDAYS[d.weekday()]
    oc = "closed" if d.weekday() >= 5 else "open"
    return g.rng.choice([
        "The store is never open on the weekend, so today it is {oc}.",
        "The {pl} opens on weekdays only, so today it is {oc}.",
        "Today is {w}, so the {pl} is {oc}.",
    ]).format(oc=oc, w=w, pl=g.rng.choice(PLACES))


# ----------------------------------------------------------------------------------------------


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    out = args[0]
    quick = "--quick" in args
    seed = 20230209
    if "--seed" in args:
        seed = int(args[args.index("--seed") + 1])
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)

    # sizes
    n_eval = 60 if quick else 300
    n_annot = 300 if quick else 4000
    gen_docs = 3000 if quick else 40000  # generated pretraining documents

    kjv = read_kjv()
    fortunes = read_fortunes()
    wordnet = read_wordnet()
    countries = read_countries()
    elements = read_elements()
    dict_elements = read_dict_elements()
    states = read_states()

    # natural prose used for pretraining, plus the eval_ppl hold-out
    prose_text = "\n".join(t for _, t in kjv) + "\n" + "\n".join(fortunes)
    prose_nums = set(int(x) for x in NUM_RE.findall(prose_text) if len(x) <= 5)

    # -------- entity split: A (pretraining facts), B (annotation facts, unseen in pretraining), C (held out)
    def clean(name, cap):
        return (all(ord(ch) < 128 for ch in name + cap) and "," not in name and "(" not in name
                and name not in cap and cap not in name and len(cap.split()) <= 3
                and len(name.split()) <= 3 and not name.startswith(("The ", "Saint ")))

    prose_words = set(WORD_RE.findall(prose_text))

    def mentioned(w):
        if WORD_RE.fullmatch(w):
            return w in prose_words
        if w not in prose_text:
            return False
        return re.search(r"\b" + re.escape(w) + r"\b", prose_text) is not None

    cand = [(n, c) for n, c in countries if clean(n, c) and not mentioned(n) and not mentioned(c)]
    cand.sort()
    rng.shuffle(cand)
    n_c = 70
    heldout = sorted(cand[:n_c])
    annot_c = sorted(cand[n_c:n_c + 60])
    used = set(heldout) | set(annot_c)
    pre_c = sorted(x for x in countries if x not in used)
    heldout_re = word_re([n for n, _ in heldout] + [c for _, c in heldout])
    annot_re = word_re([n for n, _ in annot_c] + [c for _, c in annot_c])

    # -------- reserved numbers: the held-out arithmetic (operands from a pool unseen in prose)
    pool_cand = sorted(v for v in range(100, 1000) if v not in prose_nums)
    rng.shuffle(pool_cand)
    pool = sorted(pool_cand[:50])
    eval_math = []
    reserved = set(pool)
    seen_pairs = set()
    math_forms = [("add", t) for t in ADD_T] + [("sub", t) for t in SUB_T]
    while len(eval_math) < n_eval:
        kind, t = math_forms[rng.randrange(len(math_forms))]
        a, b = rng.sample(pool, 2)
        if kind == "sub":
            a, b = max(a, b), min(a, b)
            r = a - b
            if r < 100 or r in prose_nums:
                continue
        else:
            r = a + b
            if r in prose_nums or r >= 1990:
                continue
        if (kind, a, b) in seen_pairs:
            continue
        seen_pairs.add((kind, a, b))
        p = rng.choice(PEOPLE)
        x, y = rng.sample(ITEMS, 2)
        prompt = t.format(a=a, b=b, x=x, y=y, p=p, n=pronoun(p), place=rng.choice(PLACES))
        prompt = rng.choice(LEADS) + prompt[0].upper() + prompt[1:]
        eval_math.append({"prompt": prompt.rstrip(), "answer": str(r)})
        reserved.add(r)
    reserved |= set(HELDOUT_YEARS)
    g = Gen(rng, reserved)
    reserved_str = set(str(v) for v in reserved)

    class NumCheck:
        def search(self, text):
            return not reserved_str.isdisjoint(NUM_RE.findall(text))
    num_re = NumCheck()

    def clean_for_training(text):
        return not (num_re.search(text) or has_any(text, heldout_re) or has_any(text, annot_re))

    # -------- held-out dates
    eval_dates = []
    for i in range(n_eval):
        d = g.date(HELDOUT_YEARS)
        kind, t = DATE_FORMS[i % len(DATE_FORMS)]
        ans, w, m = date_answer(kind, d)
        prompt = rng.choice(LEADS) + t.split("{ans}")[0].format(w=w, m=m)
        eval_dates.append({"prompt": prompt.rstrip(), "answer": ans, "date": d.isoformat()})

    # -------- held-out facts
    eval_facts = []
    for n, c in heldout:
        for t in FACT_FORMS:
            eval_facts.append({"prompt": t.split("{ans}")[0].format(c=n).rstrip(), "answer": c})
    rng.shuffle(eval_facts)
    eval_facts = eval_facts[:n_eval] if quick else eval_facts

    # -------- pretraining corpus
    kjv_idx = list(range(len(kjv)))
    rng.shuffle(kjv_idx)
    n_ppl_kjv = 8 if quick else 60
    ppl_kjv = set(kjv_idx[:n_ppl_kjv])
    f_idx = list(range(len(fortunes)))
    rng.shuffle(f_idx)
    n_ppl_f = 30 if quick else 300
    ppl_f = set(f_idx[:n_ppl_f])

    pre = []
    eval_ppl = []
    for i, (name, text) in enumerate(kjv):
        if quick and i not in ppl_kjv and i % 20:
            continue
        if i in ppl_kjv:
            cut = text[:1500]
            cut = cut[:cut.rfind(". ") + 1] if ". " in cut else cut
            eval_ppl.append({"text": cut})
        elif clean_for_training(text):
            pre.append(text)
    for i, text in enumerate(fortunes):
        if quick and i not in ppl_f and i % 20:
            continue
        if i in ppl_f:
            eval_ppl.append({"text": text})
        elif clean_for_training(text):
            pre.append(text)

    # WordNet glosses: small glossary documents of 8-20 entries
    # half of WordNet's glosses (all of them go to the passages); --quick subsamples first (faster)
    if quick:
        wn = [(w, gl) for w, gl in wordnet[::40] if clean_for_training(" ".join(w) + " " + gl)]
    else:
        wn = [(w, gl) for w, gl in wordnet if clean_for_training(" ".join(w) + " " + gl)][::2]
    i = 0
    while i < len(wn):
        k = rng.randint(8, 20)
        lines = []
        for words, gl in wn[i:i + k]:
            lines.append(rng.choice(["%s: %s." % (words[0], gl), "%s - %s." % (words[0], gl),
                                     "%s (%s): %s." % (words[0], ", ".join(words[1:3]), gl) if len(words) > 1
                                     else "%s: %s." % (words[0], gl)]))
        pre.append("\n".join(lines))
        i += k

    vocab_words = sorted(set(w for ws, _ in wordnet[:2000 if quick else 20000] for w in ws if w.isalpha() and len(w) < 10 and clean_for_training(w)))
    elements_ok = [e for e in elements if clean_for_training(" ".join(map(str, e)))]
    states_ok = [s for s in states if clean_for_training(" ".join(s))]
    pre_c_ok = [c for c in pre_c if clean_for_training(" ".join(c))]
    # Invented countries (names from a letter model of real place names): half of them for the
    # pretraining corpus's capital texts, the other half for the annotation texts (a passage each in
    # the index), so that an annotation text's country is a name the model has never read
    near = [w for n, c in heldout for w in WORD_RE.findall(n + " " + c)]
    real = set(read_city_names()) | set(w for n, c in countries for w in WORD_RE.findall(n + " " + c))
    both = invented_countries(rng, sorted(real), 600, prose_words | real, near)
    invented, pre_invented = both[0::2], both[1::2]
    n_gen = 0
    while n_gen < gen_docs:
        k = rng.random()
        parts = []
        # documents of 2-8 short generated paragraphs of mixed kinds
        for _ in range(rng.randint(2, 8)):
            k = rng.random()
            if k < 0.20:
                parts.append(copy_doc(g, vocab_words))
            elif k < 0.28:
                parts.append(copy_seq_doc(g, vocab_words))
            elif k < 0.44:
                parts.append(copy_arith_doc(g))
            elif k < 0.54:
                pf, r, sf, _, _, _ = arith_text(g)
                parts.append(pf + str(r) + sf)
            elif k < 0.70:
                parts.append(dated_doc(g, TRAIN_YEARS))
            elif k < 0.86:
                parts.append(fact_doc(g, pre_c_ok, elements_ok, states_ok))
            else:  # the grammars' names and numbers can be held-out ones ("Sofia"): drawn again
                t = wording_doc(g, pre_c_ok, pre_invented)
                while not clean_for_training(t):
                    t = wording_doc(g, pre_c_ok, pre_invented)
                parts.append(t)
        doc = rng.choice([" ", "\n", "\n\n"]).join(p for p in parts if p)
        assert clean_for_training(doc), doc
        pre.append(doc)
        n_gen += 1
    rng.shuffle(pre)
    # the annotation's invented countries stay unread: those whose name or capital a pretraining
    # text holds all the same (a WordNet gloss's "Regent's", a capital "Laâyoundé") are left out
    pre_text = "\n".join(pre)
    pre_words = set(STRICT_WORD_RE.findall(pre_text))

    def unread(w):
        return w not in pre_words if STRICT_WORD_RE.fullmatch(w) else w not in pre_text
    invented = [(c, k) for c, k in invented if unread(c) and unread(k)]

    # -------- annotation corpus (also the control corpus)
    # A share of each need in the templates above, the rest in data/wordings.py's grammars
    # (questions, layouts, word problems of all four operations, 1-4 digit numbers).
    # Invented countries (drawn before the pretraining corpus, which holds the other half): the
    # query must copy a name the model has never seen, as it must for a held-out country
    annot = []
    while len(annot) < n_annot:
        k = rng.random()
        many = rng.random() < ANNOT_WORDINGS
        if k < ANNOT_SHARES[0] and (many or rng.random() < ANNOT_WORDINGS_MATH_EXTRA):
            rec = {"text": wordings.math_text(g)}
        elif k < ANNOT_SHARES[0]:
            pf, r, sf, _, _, _ = arith_text(g, rng.choice(["add", "add", "sub"]), clean_end=True)
            text = rng.choice(LEADS) + pf + str(r) + sf + rng.choice(TAILS)
            rec = {"text": text}
        elif k < ANNOT_SHARES[0] + ANNOT_SHARES[1] and many:
            d = g.date(ANNOT_YEARS)
            text = (wordings.date_open_text(g, d)[0] if rng.random() < ANNOT_OPEN_DATES
                    else wordings.date_text(g, d))
            rec = {"text": text, "date": d.isoformat()}
        elif k < ANNOT_SHARES[0] + ANNOT_SHARES[1]:
            d = g.date(ANNOT_YEARS)
            u = rng.random()
            if u < 0.2:
                body = openclosed_text(g, d)
            elif u < 0.45:
                w, m, day, y = date_parts(d)
                body = rng.choice(DATE_FULL_FORMS).format(w=w, m=m, d=day, y=y)
            else:
                kind, t = rng.choice(DATE_FORMS)
                ans, w, m = date_answer(kind, d)
                body = t.format(w=w, m=m, ans=ans)
            text = rng.choice(LEADS) + body + rng.choice(TAILS)
            rec = {"text": text, "date": d.isoformat()}
        elif many:
            n, c = rng.choice(annot_c) if rng.random() < 1 - ANNOT_INVENTED else rng.choice(invented)
            rec = {"text": wordings.fact_text(g, n, c)}
        else:
            n, c = rng.choice(annot_c)
            text = rng.choice(LEADS) + rng.choice(FACT_FORMS).format(c=n, ans=c) + rng.choice(TAILS)
            rec = {"text": text}
        if num_re.search(rec["text"]) or has_any(rec["text"], heldout_re):
            continue
        rec = {"id": "a%05d" % len(annot), "text": rec["text"].strip(), **({"date": rec["date"]} if "date" in rec else {})}
        annot.append(rec)

    # -------- final held-out check (strict tokens: any letter/digit run). Removing records here
    # changes no other file. A held-out item that occurs in pretraining or annotation text in any
    # form (a possessive, a hyphenated word, the digits after a decimal point) is dropped, and so
    # are capitals WikiSearch cannot give cleanly (an abbreviation the snippet cuts at, "St.";
    # a WordNet gloss naming another capital, e.g. Putrajaya for Malaysia).
    annot_text = "\n".join(r["text"] for r in annot)
    seen_text = pre_text + "\n" + annot_text
    seen_digits = set(DIGITS_RE.findall(seen_text))
    seen_words = pre_words | set(STRICT_WORD_RE.findall(annot_text))  # the pretraining's, read once

    def seen(name):
        if STRICT_WORD_RE.fullmatch(name):
            return name in seen_words
        return name in seen_text and re.search(
            r"(?<![A-Za-z0-9])" + re.escape(name) + r"(?![A-Za-z0-9])", seen_text) is not None

    capital_glosses = [t for t in (", ".join(w) + ": " + gl for w, gl in wordnet) if "capital of " in t]

    def ambiguous(n, c):
        return "." in c or any(("capital of " + n) in t and c not in t for t in capital_glosses)

    drop_c = set(n for n, c in heldout if seen(n) or seen(c) or ambiguous(n, c))
    cap_of = dict(heldout)
    eval_facts = [r for r in eval_facts if not any(r["answer"] == cap_of[n] for n in drop_c)]
    eval_math = [r for r in eval_math
                 if seen_digits.isdisjoint([x for x in DIGITS_RE.findall(r["prompt"]) if len(x) >= 3] + [r["answer"]])]
    eval_dates = [r for r in eval_dates if r["date"][:4] not in seen_digits]
    if drop_c:
        sys.stderr.write("gen.py: held-out countries left out of eval_facts: %s\n" % ", ".join(sorted(drop_c)))

    # -------- passages for WikiSearch: every country (held-out ones included), glosses, elements
    passages = []
    for n, c in countries:
        passages.append({"title": n, "text": capital_passage(n, c)})
    for n, c in invented:
        passages.append({"title": n, "text": capital_passage(n, c)})
    for st, c in states:
        passages.append({"title": st, "text": "The capital of the state of %s is %s." % (st, c)})
    for title, body in dict_elements:
        passages.append({"title": title, "text": body})
    for words, gl in (wordnet[::20] if quick else wordnet):
        passages.append({"title": words[0], "text": "%s: %s." % (", ".join(words), gl)})

    # -------- write
    def write(name, recs):
        with open(os.path.join(out, name), "w", encoding="utf-8") as fh:
            for r in recs:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")

    write("pretrain.jsonl", ({"text": t} for t in pre))
    write("annotate.jsonl", annot)
    write("control.jsonl", annot)
    write("eval_math.jsonl", eval_math)
    write("eval_dates.jsonl", eval_dates)
    write("eval_facts.jsonl", eval_facts)
    write("eval_ppl.jsonl", eval_ppl)
    write("passages.jsonl", passages)
    with open(os.path.join(out, "heldout.json"), "w") as fh:
        json.dump({"seed": seed, "countries": heldout, "annotation_countries": annot_c, "invented_countries": invented,
                   "countries_left_out_of_eval_facts": sorted(drop_c),
                   "numbers": sorted(reserved), "years": HELDOUT_YEARS}, fh, ensure_ascii=False, indent=1)
    sys.stderr.write("gen.py: %d pretraining docs, %d annotation docs, eval %d/%d/%d/%d, %d passages\n" % (
        len(pre), len(annot), len(eval_math), len(eval_dates), len(eval_facts), len(eval_ppl), len(passages)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
