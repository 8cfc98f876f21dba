"""wordings.py — annotation texts in many wordings (imported by gen.py; stdlib only).

Each need a tool answers (a sum, a difference, a product, a share, today's weekday / month / year /
date, a capital) is written by small grammars with many slots: questions, "Q: ... A:" and colon
layouts, "The answer is", word problems whose operation follows from the story ("gives away",
"in all", "each", "shared equally"), numbers of one to four digits (as digits: the Calculator's
proposer reads digits only), the answer a few words after the question. No text holds a tool call: where a call helps, and which, is left to the loss filter.

Every function takes the generator's Gen (its random.Random and reserved numbers) and returns one
text, plus the date it is written on for dated texts. Written after the out-of-template test sets
(data/ood) and independently of them; data/ood_check.py fails on any 6-word span they share. The
capital grammar's leads and stories (2026-12-07) were written after reading a model's misses on
data/ood, so that set is less blind to them (docs/demo.md); settings are chosen on data/validation.
"""

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]

NAMES = ["Anna", "Ben", "Clara", "David", "Ella", "Frank", "Grace", "Henry", "Ida", "Jack", "Karen",
         "Leo", "Maria", "Noah", "Olga", "Paul", "Rosa", "Sam", "Tom", "Vera", "Aisha", "Bruno",
         "Chen", "Dina", "Emil", "Fatima", "Gus", "Hugo", "Iris", "Jonas", "Kofi", "Lina", "Marco",
         "Nadia", "Oscar", "Pia", "Quinn", "Ravi", "Sofia", "Theo", "Uma", "Victor", "Wanda", "Yusuf"]
SHE = {"Anna", "Clara", "Ella", "Grace", "Ida", "Karen", "Maria", "Olga", "Rosa", "Vera", "Aisha",
       "Dina", "Fatima", "Iris", "Lina", "Nadia", "Pia", "Sofia", "Uma", "Wanda"}
# (plural, container, container plural)
THINGS = [("apples", "basket", "baskets"), ("marbles", "bag", "bags"), ("pencils", "box", "boxes"),
          ("eggs", "carton", "cartons"), ("books", "shelf", "shelves"), ("cookies", "tin", "tins"),
          ("stamps", "album", "albums"), ("shells", "bucket", "buckets"), ("cards", "pack", "packs"),
          ("buttons", "jar", "jars"), ("oranges", "crate", "crates"), ("bottles", "case", "cases"),
          ("toys", "chest", "chests"), ("flowers", "vase", "vases"), ("candies", "bowl", "bowls"),
          ("nails", "tray", "trays"), ("potatoes", "sack", "sacks"), ("beads", "string", "strings"),
          ("tickets", "roll", "rolls"), ("chairs", "row", "rows"), ("plants", "bed", "beds"),
          ("coins", "purse", "purses"), ("crayons", "set", "sets"), ("cupcakes", "plate", "plates")]
GROUPS = ["friends", "children", "students", "teams", "neighbours", "cousins", "workers", "tables",
          "families", "players"]
WHEN = [("on Monday", "on Tuesday"), ("in the first week", "in the second week"),
        ("before lunch", "after lunch"), ("last year", "this year"), ("yesterday", "today"),
        ("at the first stop", "at the second stop"), ("in May", "in June")]
def pick(rng, xs):
    return xs[rng.randrange(len(xs))]


def digits_num(g, lo=1, hi=9999):
    """A number of one to four digits (each length about equally likely), not reserved."""
    rng = g.rng
    while True:
        nd = pick(rng, [1, 2, 2, 3, 3, 4])
        a, b = max(lo, 10 ** (nd - 1)), min(hi, 10 ** nd - 1)
        if a <= b:
            return g.num(a, b)


def person(rng):
    p = pick(rng, NAMES)
    return p, ("she" if p in SHE else "he"), ("her" if p in SHE else "his"), ("her" if p in SHE else "him")


def cap(s):
    return s[0].upper() + s[1:]


# ---- arithmetic ----------------------------------------------------------------------------------

def operands(g, op):
    """(a, b, result) of one operation; a - b and a / b with a the larger; results above 1."""
    while True:
        if op == "+":
            a, b = digits_num(g, 1, 4999), digits_num(g, 1, 4999)
            r = a + b
        elif op == "-":
            a, b = digits_num(g, 2, 9999), digits_num(g, 1, 9999)
            a, b = max(a, b), min(a, b)
            r = a - b
        elif op == "*":
            a, b = g.num(2, 12) if g.rng.random() < 0.6 else g.num(2, 40), digits_num(g, 2, 999)
            r = a * b
        else:
            b, q = g.num(2, 12) if g.rng.random() < 0.7 else g.num(2, 30), digits_num(g, 2, 400)
            a, r = b * q, q
        if r >= 2 and r not in (a, b) and g.ok(a, b, r):
            return a, b, r


def story(g, op, a, b):
    """A one-operation story and its question; the numbers appear in the order given."""
    rng = g.rng
    x, box, boxes = pick(rng, THINGS)
    p, he, his, him = person(rng)
    q_name = pick(rng, [n for n in NAMES if n != p])
    d1, d2 = pick(rng, WHEN)
    HAVE = ["How many {x} does {P} have now?", "What is {P}'s total now?"]
    ALL = ["How many {x} are there in all?", "How many {x} is that in total?",
           "What is the total number of {x}?", "How many {x} together?"]
    LEFT = ["What number of {x} is left?", "How many {x} are still there?", "How many are left over?"]
    EACH = ["How many {x} does each get?", "How many does each one get?", "How many {x} is that for each?"]
    s, qs = pick(rng, {
        "+": [("{P} has {a} {x}. {Q} gives {him} {b} more.", HAVE),
              ("{P} collected {a} {x} {d1} and {b} {x} {d2}.", ALL + ["What did {P} collect in all?"]),
              ("There are {a} {x} in one {box} and {b} in another.", ALL),
              ("{P} had {a} {x}, then found {b} more.", HAVE),
              ("A shop got {a} {x} {d1} and another {b} {d2}.", ALL + ["What did the shop get in all?"]),
              ("{P} brings {a} {x} and {Q} brings {b} {x} to the party.",
               ["How many {x} do they bring in all?", "How many {x} do they have together?"]),
              ("The first {box} holds {a} {x} and the second holds {b}.", ALL),
              ("{P} owns {a} {x}. For {his} birthday {he} receives {b} more.", HAVE),
              ("{P} picked {a} {x}, and {Q} picked {b}.", ALL + ["How many {x} did the two pick?"]),
              ("A farm sends {a} {x} to town {d1} and {b} {d2}.", ALL + ["How many {x} went to town?"]),
              ("{P} puts {b} more {x} into a {box} that already holds {a}.", ["What number of {x} does the {box} hold now?"]),
              ("{P} counted {a} {x} in the garden and {b} in the house.", ALL),
              ("{P} scored {a} points {d1} and {b} points {d2}.", ["How many points is that in all?",
                                                                  "What is {P}'s score altogether?"])],
        "-": [("{P} had {a} {x} and gave away {b}.", LEFT + ["How many {x} does {P} have now?"]),
              ("{P} had {a} {x}. {He} lost {b} along the way.", LEFT + ["How many {x} does {P} still have?"]),
              ("A shop had {a} {x} and sold {b}.", LEFT + ["How many {x} does the shop have left?"]),
              ("There were {a} {x} in the {box}. {P} took out {b}.", LEFT + ["How many {x} does the {box} still hold?"]),
              ("{P} bought {a} {x} and used up {b}.", LEFT),
              ("{P} has {a} {x} and {Q} has {b}.", ["How many more {x} does {P} have?",
                                                    "How many fewer {x} does {Q} have?", "What is the difference?"]),
              ("Out of {a} {x}, {b} were broken.", ["How many {x} are not broken?", "How many are still good?"]),
              ("{P} needs {a} {x} and already has {b}.", ["How many more {x} does {P} need?",
                                                           "How many are still missing?"]),
              ("{P} started with {a} {x}. {He} ate {b} of them.", LEFT),
              ("The {box} held {a} {x} until {b} fell out.", LEFT + ["How many {x} remain in the {box}?"]),
              ("{P} had {a} cents and spent {b} cents on {x}.", ["How many cents does {P} have left?",
                                                                  "How much money is left in cents?"]),
              ("A road is {a} metres long. {P} has walked {b} metres of it.", ["How many metres are left to walk?",
                                                                                "How far is it still?"]),
              ("{a} people came to the fair and {b} of them went home early.", ["How many people stayed?",
                                                                                 "How many are still at the fair?"])],
        "*": [("{P} buys {a} {boxes}, each with {b} {x} inside.", ALL + ["How many {x} does {P} buy?"]),
              ("There are {a} {boxes} and each {box} holds {b} {x}.", ALL),
              ("Each {box} has {b} {x}. {P} has {a} {boxes}.", ALL + ["How many {x} does {P} have?"]),
              ("{x_} cost {b} cents each. {P} buys {a} of them.", ["How many cents does {P} pay?",
                                                                   "How much does {he} pay in cents?"]),
              ("{P} packs {a} {boxes} of {b} {x}.", ALL + ["How many {x} does {P} pack?"]),
              ("{a} {groups} each get {b} {x}.", ALL + ["How many {x} are given out?"]),
              ("{P} reads {b} pages daily for {a} days.", ["How many pages does {he} read?",
                                                            "How many pages is that in all?"]),
              ("A {box} costs {b} cents. {P} buys {a} of them.", ["How many cents does {P} spend?",
                                                                   "What is the cost in cents?"]),
              ("There are {a} rows of {x}, {b} in every row.", ALL),
              ("{P} earns {b} cents an hour and works {a} hours.", ["How many cents does {he} earn?",
                                                                     "What does {P} earn in cents?"])],
        "/": [("{P} shares {a} {x} equally among {b} {groups}.", EACH),
              ("{a} {x} are split into {b} equal groups.", ["How many {x} fall to each group?", "How big is each group?"]),
              ("{a} {x} are shared equally by {b} {groups}.", EACH),
              ("{P} puts {a} {x} into {b} {boxes}, an equal count per {box}.",
               ["How many {x} end up per {box}?", "How many {x} does each {box} get?"]),
              ("{a} {x} are packed {b} to a {box}.", ["How many {boxes} does that fill?",
                                                      "How many {boxes} are filled?"]),
              ("{P} divides {a} {x} evenly between {b} {groups}.", EACH),
              ("{P} has {a} {x} to hand out to {b} {groups}, the same number to each.", EACH),
              ("A rope of {a} metres is cut into {b} parts of the same length.", ["How many metres long is one part?",
                                                                                   "What length does one part have in metres?"]),
              ("{a} cents buy {b} {x} at one price.", ["How many cents does one cost?",
                                                        "What is the price of one in cents?"]),
              ("{a} {x} are packed into {b} {boxes} with none left over.", ["How many {x} does one {box} take?",
                                                                            "How many {x} per {box}?"])],
    }[op])
    groups = pick(rng, GROUPS)
    fmt = dict(P=p, Q=q_name, a=a, b=b, x=x, x_=cap(x), box=box, boxes=boxes, he=he, He=cap(he),
               his=his, him=him, d1=d1, d2=d2, groups=groups)
    return s.format(**fmt), pick(rng, qs).format(**fmt)


OPWORDS = {"+": ["plus", "added to", "and"], "-": ["minus", "take away", "less"],
           "*": ["times", "multiplied by"], "/": ["divided by", "over"]}


def math_text(g):
    """A text where a sum, difference, product or quotient is stated right after it is needed."""
    return math_parts(g)[0]


def math_parts(g):
    """math_text's text, with its answer and expression: (text, "42", "30 + 12")."""
    rng = g.rng
    op = pick(rng, ["+", "-", "*", "/"])
    a, b, r = operands(g, op)
    k = rng.random()
    if k < 0.8:  # a word problem (the most varied need: most of the arithmetic texts)
        st, q = story(g, op, a, b)
        lay = pick(rng, [
            "{s} {q} The answer is {r}.",
            "{s} {q} Answer: {r}.",
            "Q: {s} {q} A: {r}",
            "{s} {q} {r}.",
            "Problem: {s} {q} Solution: {r}.",
            "{s} {q} Let us see. It is {r}.",
            "{s} {q} So the answer is {r}.",
            "Word problem. {s} {q} Answer: {r}",
        ])
        return lay.format(s=st, q=q, r=r), str(r), "%d %s %d" % (a, op, b)
    w = pick(rng, OPWORDS[op])
    sym = {"+": "+", "-": "-", "*": "x", "/": "/"}[op]
    if op == "+" and w == "and":
        qs = ["What do {a} and {b} make? They make {r}.", "Add {a} and {b}. The answer is {r}."]
    else:
        qs = ["What is {a} {w} {b}? It is {r}.", "Q: What is {a} {w} {b}? A: {r}",
              "How much is {a} {w} {b}? The answer is {r}.", "{a} {w} {b} is {r}.",
              "Quick sum: {a} {w} {b}. Answer: {r}.", "Compute {a} {w} {b}: {r}.",
              "Question: {a} {sym} {b}? Answer: {r}", "{a} {w} {b}, that makes {r}."]
    return pick(rng, qs).format(a=a, b=b, w=w, r=r, sym=sym), str(r), "%d %s %d" % (a, op, b)


# ---- today's date -----------------------------------------------------------------------------

def date_text(g, d):
    """A text about today (d) where the weekday, month, year or date follows the need for it."""
    return date_parts_text(g, d)[0]


def date_parts_text(g, d):
    """date_text's text and its answer: (text, "March 17")."""
    rng = g.rng
    w, m, day, y = WEEKDAYS[d.weekday()], MONTHS[d.month - 1], d.day, d.year
    kind = pick(rng, ["weekday", "month", "year", "date", "day", "dom"])
    if kind == "dom":  # the month already written, the day of the month after it
        return dom_text(g, d), "%s %d" % (m, day)
    ans = {"weekday": w, "month": m, "year": str(y), "date": "%s %d, %d" % (m, day, y),
           "day": "%s %d" % (m, day)}[kind]
    what = {"weekday": ["weekday", "weekday", "day"], "month": ["month"], "year": ["year"],
            "date": ["date", "full date"], "day": ["date", "day and month"]}[kind]
    wh = pick(rng, what)
    k = rng.random()
    if k < 0.45:  # a question and its answer
        q = pick(rng, ["Which {wh} do we have today?", "Tell me today's {wh}.", "Any idea which {wh} this is?",
                       "Could you say the {wh}?", "I need today's {wh}.", "So, the {wh} today?",
                       "Which {wh} would you say it is?", "The {wh}, please?", "Do you know the {wh}?",
                       "Can you check the {wh} for me?"]).format(wh=wh)
        a = pick(rng, ["It is {x}.", "Today it is {x}.", "It's {x}.", "{x}.", "Let me look. It is {x}.",
                       "Sure: {x}.", "The {wh} is {x}.", "Right now it is {x}."]).format(x=ans, wh=wh)
        return pick(rng, ["{q} {a}", "Q: {q} A: {a}", "Question: {q} Answer: {a}", "{p}: {q} {n}: {a}"]).format(
            q=q, a=a, p=person(rng)[0], n=person(rng)[0]), ans
    if k < 0.7:  # a label or a form
        lab = pick(rng, {"weekday": ["Day", "Weekday", "Day of the week", "Today"],
                         "month": ["Month", "Current month", "This month"],
                         "year": ["Year", "Current year", "This year"],
                         "date": ["Date", "Today's date", "Date of writing"],
                         "day": ["Date", "Today"]}[kind])
        pre = pick(rng, ["", "", "Form 7. ", "Visitor log. ", "Order sheet. ", "Name: %s. " % person(rng)[0]])
        return pre + "%s: %s." % (lab, ans) + pick(rng, ["", " Signed.", " Thank you.", " Please keep this copy."]), ans
    # a sentence where the answer comes a few words after what asks for it
    p = person(rng)[0]
    t = pick(rng, {
        "weekday": ["The bakery makes rye bread on one day only, {x}, and that is today.", "{p} checked the calendar and saw that today is {x}.",
                    "Since today is {x}, {p} goes to the market.", "As every week, today is a {x} and the office is busy.",
                    "Notes written by {p} on {x}: the roof needs work."],
        "month": ["{p} says the month is {x} and the nights are long.", "Now that it is {x}, the school term goes on.",
                  "Our plans for this month, {x}, are simple."],
        "year": ["{p} wrote the year on the letter: {x}.", "Now, in {x}, the bridge is finished.",
                 "This report covers the year {x}."],
        "date": ["{p} signed the form today, {x}.", "Written on this day, {x}, by {p}.",
                 "Today, {x}, the shop opens late."],
        "day": ["{p} wrote today's date, {x}, on the board.", "It is {x} today, and {p} is at work."],
    }[kind])
    return t.format(x=ans, p=p), ans


def dom_text(g, d):
    """A text where the month is written and the day of the month follows it."""
    rng = g.rng
    w, m, day, y = WEEKDAYS[d.weekday()], MONTHS[d.month - 1], d.day, d.year
    p = person(rng)[0]
    head = pick(rng, ["Date", "Today", "Date of the visit", "Written", "Entry", "Day", "Deadline set for today",
                      "Meeting notes", "Shift log", "Receipt"])
    t = pick(rng, [
        "{h}: {m} {d}.", "{h}: {m} {d}, {y}.", "{h}, {m} {d}.", "{h} ({m} {d})",
        "Q: {m} is the month, but which day is it? A: {m} {d}.",
        "{p} knows that it is {m}. It is day {d} of it, so {m} {d}.",
        "We are in {m}, and today is {m} {d}.",
        "In the diary of {p}: {m} {d}. Rain all day.",
        "The note on the door says {m} {d}.",
        "{p} filled in the date as {m} {d}.",
        "Which day of {m} do we have? It is {m} {d}.",
        "It is {m} {d} today.",
    ])
    return t.format(h=head, m=m, d=day, y=y, w=w, p=p)


# Open-ended sentences about the present (annotation texts only, 2026-12-08): nothing asks for the
# date; the weekday, month, year or date is simply how the sentence goes on ("... as she does
# every", "... all through", "... later this year, in"), so a call helps where prose could go on as
# prose. Written after reading a model's misses on data/ood's dates (docs/demo.md), judged on
# data/validation's open-ended date sentences, which were written before it (two frames carry the
# idea of one of those in other words: "thought it was ..., but it is only", "Since it is ...
# today").
OPEN_ROUTINES = ["goes swimming", "buys fresh bread", "calls {his} mother", "waters the plants", "plays chess",
                 "cleans the kitchen", "walks to the market", "bakes a cake", "visits the library",
                 "takes the early train", "mows the lawn", "works from home", "cooks soup", "sings in the choir"]
OPEN_PLACES = ["market", "pool", "library", "park", "post office", "bakery", "museum", "dentist", "bank", "town hall"]
OPEN_DOCS = ["receipt", "ticket", "invoice", "letter", "diary page", "bill", "form", "log entry", "report",
             "postcard", "permit", "memo"]
OPEN_LEADS = ["", "", "", "{p} here. ", "A short note. ", "Hello again. ", "From {p}'s diary. ", "News from home. ",
              "Well, well. ", "At last. ", "Oh dear. "]
OPEN_TAILS = ["", "", "", " {p} is glad.", " Nothing else happened.", " More soon.", " The rest can wait.",
              " Everyone knows it."]
OPEN_FRAMES = {
    "weekday": [
        "{p} {routine} today, as {he} does every {x}.",
        "It is {x}, so {p} {routine}.",
        "{p} thought it was {y}, but it is only {x}.",
        "{p} woke up and remembered that it was {x}.",
        "On this quiet {x}, {p} {routine}.",
        "The {place} is full of people today; that happens every {x}.",
        "{p} told {him} that today was {x}.",
        "{p} goes to the {place} today, a {x}.",
        "Nobody likes a rainy {x}, and today is one.",
        "Since it is {x} today, the {place} closes early.",
        "{p} feels tired, which is normal for a {x}.",
        "Every week {p} waits for {x}, and now it is here.",
    ],
    "month": [
        "Here we are in {x}, and the days are getting {adj}.",
        "{p} {routine} all through {x}.",
        "It is already {x}, and {p} has not finished the garden.",
        "The {doc} for this month, {x}, came in the mail.",
        "{p} cannot believe it is {x} already.",
        "Our club meets every week of {x}.",
        "{p} has been busy since the start of {x}.",
        "This month, {x}, the {place} has new hours.",
        "The whole town looks different in {x}.",
    ],
    "year": [
        "{p}'s {doc} for this year, {x}, is ready.",
        "The old {place} is closing this year, in {x}.",
        "{p} made a plan for the year {x}.",
        "Here in {x}, the {place} is still open.",
        "{p} renewed {his} {doc} for {x}.",
        "Everything {p} bought this year is marked {x}.",
        "So far the year {x} has been kind to {p}.",
        "The new {place} will open later this year, in {x}.",
    ],
    "date": [
        "{p} signed the {doc} today, {x}.",
        "The {doc} is stamped with today's date, {x}.",
        "{p} moved to the new flat today, {x}.",
        "{cdoc}, made out today, {x}.",
        "{p} came home today, {x}, after a long trip.",
        "The {doc} {p} sent today is dated {x}.",
        "Written at the {place} today, {x}.",
    ],
}


def date_open_text(g, d):
    """An open-ended sentence about today (d) and its answer: (text, "Sunday")."""
    rng = g.rng
    w, m, day, y = WEEKDAYS[d.weekday()], MONTHS[d.month - 1], d.day, d.year
    kind = pick(rng, ["weekday", "weekday", "weekday", "month", "month", "year", "date"])
    ans = {"weekday": w, "month": m, "year": str(y),
           "date": pick(rng, ["%s %d" % (m, day), "%s %d, %d" % (m, day, y)])}[kind]
    p, he, his, him = person(rng)
    other = pick(rng, [x for x in WEEKDAYS if x != w])
    doc = pick(rng, OPEN_DOCS)
    t = pick(rng, OPEN_FRAMES[kind]).format(
        x=ans, y=other, p=p, he=he, his=his, him=pick(rng, ["her", "him", "us", "them"]),
        routine=pick(rng, OPEN_ROUTINES).format(his=his), place=pick(rng, OPEN_PLACES), doc=doc, cdoc=cap(doc),
        adj=pick(rng, ["shorter", "longer", "warmer", "colder"]))
    lead = pick(rng, OPEN_LEADS).format(p=pick(rng, NAMES))
    tail = pick(rng, OPEN_TAILS).format(p=p)
    return lead + cap(t) + tail, ans


# ---- capitals ----------------------------------------------------------------------------------

FACT_LEADS = ["", "", "", "", "{p} asked a question. ", "Travel notes. ", "Geography. ", "From an old atlas: ",
              "Quiz. ", "Note: ", "Hello! ", "Today's lesson. ", "{p} wrote: ", "News. ", "School report. ",
              "Dear {p}, ", "A short answer. ", "Homework. ", "Checked twice. ", "Good question! "]
FACT_QUESTIONS = ["Where is {c}'s capital?", "{c}'s capital city is which one?", "Name {c}'s capital.",
                  "What is {c}'s capital?", "In {c}, which city is the capital?", "Which is the capital city of {c}?",
                  "The capital of {c}, which city is it?", "{c}: which city is its capital?",
                  "Do you know {c}'s capital?", "Can you name the capital of {c}?", "{c} has which capital?",
                  "And the capital of {c}?", "What city is the capital of {c}?", "Capital of {c}?", "{c}, capital?",
                  "Who knows the capital of {c}?", "Where does the government of {c} sit?",
                  "Which city does {c} call its capital?", "What do they call the capital of {c}?"]
FACT_ANSWERS = ["It is {x}.", "The capital is {x}.", "{x}.", "That is {x}.", "Yes, it is {x}.", "The answer is {x}.",
                "It's {x}.", "The city is {x}.", "Sure, it is {x}.", "I think it is {x}.", "Easy: {x}.",
                "{x}, of course.", "The answer: {x}.", "Its capital is {x}.", "It's the city of {x}.", "That's {x}.",
                "Answer: {x}.", "Well, {x}."]
FACT_LAYOUTS = ["Capital of {c}: {x}.", "{c}, capital city: {x}.", "Country: {c}. Capital: {x}.", "{c} (capital: {x})",
                "Atlas entry. {c}. Capital city: {x}.", "{c} | capital | {x}", "{c} - capital {x}",
                "Capital city of {c}: {x}.", "{c}; capital: {x}.", "Name: {c}. Capital city: {x}.", "{c} capital: {x}.",
                "Land: {c}. Seat of government: {x}.", "{c} => {x} (capital)"]
# a story: the country named somewhere in a clause, the capital after a few more words
FACT_MENTIONS = ["{p} flew to {c}", "{p} wants to visit {c}", "We read about {c}", "{p} was born in {c}",
                 "My friend lives in {c}", "This book is about {c}", "The team played in {c}",
                 "{p} works for the embassy of {c}", "Tomorrow {p} leaves for {c}", "There is a map of {c}",
                 "{p} has a friend in {c}", "{p} studied in {c}", "Trains from all over {c} run to the capital",
                 "{p} is writing a report on {c}", "Last year {p} traveled through {c}", "The radio talked about {c}"]
FACT_CAP_LEADS = [", and its capital is {x}.", ", and the capital is {x}.", "; the capital is {x}.",
                  ", whose capital is {x}.", ". Its capital city is {x}.", ". The capital there is {x}.",
                  ". The seat of government is {x}.", ". Its government sits in {x}.", ". The parliament meets in {x}.",
                  ". Most offices are in {x}.", ", starting in the capital, {x}.", ". The city to see first is the capital, {x}.",
                  ", and the president lives in {x}.", ". The ministries are based in the city of {x}.",
                  ". Everyone there knows the capital, {x}.", ", in the capital, {x}."]


def fact_text(g, c, capital):
    """A text where the capital of country c follows the need for it: a question and its answer, a
    layout, or a story naming the country in one clause and the capital a few words later, often
    after a lead with other capitalised words (the query must pick the country out)."""
    rng = g.rng
    p, he, his, him = person(rng)
    lead = pick(rng, FACT_LEADS).format(p=p)
    k = rng.random()
    if k < 0.4:
        q = pick(rng, FACT_QUESTIONS).format(c=c)
        a = pick(rng, FACT_ANSWERS).format(x=capital)
        p2 = pick(rng, NAMES)
        body = pick(rng, ["{q} {a}", "Q: {q} A: {a}", "Question: {q} Answer: {a}", "{p}: {q} {p2}: {a}",
                          "- {q} - {a}"]).format(q=q, a=a, p=p, p2=p2)
    elif k < 0.6:
        body = pick(rng, FACT_LAYOUTS).format(c=c, x=capital)
    else:
        body = cap(pick(rng, FACT_MENTIONS).format(p=p, c=c)) + pick(rng, FACT_CAP_LEADS).format(x=capital)
    return lead + body
