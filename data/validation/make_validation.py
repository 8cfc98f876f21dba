#!/usr/bin/env python3
"""make_validation.py — writes the validation sets (dates.jsonl, facts.jsonl, math.jsonl) in this
folder from the prompts written by hand below.

data/ood is the test: its figures are reported, and after many demos judged on it, choosing a
setting there no longer says how a model does on wordings nobody tuned for. These sets are what
settings are chosen on from 2026-12-07 on. They were written by a person after data/ood and before
the grammar change they were first used to judge, in wordings of their own (neither data/ood's nor
the recipe's: data/ood_check.py DATA_DIR data/validation fails on any 6-word span they share with
the recipe's output). The countries are the recipe's held-out ones (data/ood/make_ood.py's list),
the dates lie in the held-out years, the numbers are written fresh here.

usage: make_validation.py [OUT_DIR]   (default: this folder; deterministic, no randomness)
"""
import datetime as dt
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ood"))
from make_ood import COUNTRIES, MONTHS, WEEKDAYS, dates_for, word_problem_answer  # noqa: E402

FACT_Q = [
    "Homework help: {c}, capital city?",
    "Dad asked me which city is {c}'s capital. I told him",
    "Answer in one word. Capital of {c}?",
    "Reply with a city. {c}'s seat of power is",
    "Our class project is about {c}. Its capital city is",
    "Geography test, question four. {c}. Capital:",
    "We landed in {c} this morning and took a taxi to the capital,",
    "The news from {c} today came from its capital,",
    "Looking at the map of {c}, I found the capital:",
    "The leaders of {c} gathered in the capital city,",
    "Can you tell me the capital of {c}? Of course, it is",
    "Student: What is {c}'s capital? Teacher:",
    "{c} capital city:",
    "Hey, quick question: capital of {c}? It's",
    "Tourists in {c} usually stay in the capital,",
    "The biggest government offices of {c} stand in",
    "In the atlas, next to {c}, the capital reads",
    "Remind me, what is the capital of {c}? It is",
    "I mailed a letter to the embassy of {c} in its capital,",
    "The train to {c}'s capital stops at last in",
    "Crossword clue: capital of {c}. Answer:",
    "Everyone in {c} knows the name of their capital:",
    "The king or president of {c} lives in",
    "Best answer: {c} has its capital in",
    "Before the trip to {c}, Sara looked up its capital, which is",
]

# (prompt, operation); each ends "The answer is"
WORD_PROBLEMS = [
    ("Sam picked 34 apples and Nora picked 28 apples. How many apples did they pick together? The answer is", "+"),
    ("A shop sold 215 hats in spring and 189 hats in summer. How many hats did it sell in both seasons? The answer is", "+"),
    ("Kim has 9 red pens and 6 blue pens. How many pens does Kim have? The answer is", "+"),
    ("A library got 1320 new books last year and 870 this year. How many new books is that altogether? The answer is", "+"),
    ("Ali walked 14 km on Saturday and 17 km on Sunday. How far did he walk over the weekend? The answer is", "+"),
    ("The first train had 452 people and the second had 367. How many people were on the two trains? The answer is", "+"),
    ("A cake needs 250 grams of flour and the icing needs 75 grams. How much flour and sugar is used in total? The answer is", "+"),
    ("Jo scored 58 points and then 66 more points. How many points does Jo have now? The answer is", "+"),
    ("There were 7 birds on the fence. 8 more came. How many birds are on the fence now? The answer is", "+"),
    ("A farm has 143 sheep and 96 goats. How many animals is that? The answer is", "+"),
    ("Nina had 63 stamps. She gave 25 to her brother. How many stamps does she have left? The answer is", "-"),
    ("A tank held 900 liters of water. 345 liters leaked out. How much water is left in the tank? The answer is", "-"),
    ("There are 31 cookies in the jar. The kids eat 14 of them. How many cookies remain? The answer is", "-"),
    ("A road is 1500 meters long. Workers have paved 680 meters. How many meters are still not paved? The answer is", "-"),
    ("Ben is 71 years old and his grandson is 9. How many years older is Ben? The answer is", "-"),
    ("A shirt cost 48 dollars. It is now 13 dollars cheaper. What does it cost now? The answer is", "-"),
    ("The hall has 620 seats and 437 people came. How many seats are free? The answer is", "-"),
    ("Eva needs 95 beads for a necklace and has 58. How many more beads does she need? The answer is", "-"),
    ("A bakery baked 240 loaves and sold 176. How many loaves were not sold? The answer is", "-"),
    ("Tim had 17 marbles and lost 8 of them. How many marbles does Tim still have? The answer is", "-"),
    ("A box holds 12 eggs. How many eggs are in 9 boxes? The answer is", "*"),
    ("Each bus carries 45 children. How many children ride in 6 buses? The answer is", "*"),
    ("A worker earns 27 dollars per hour for 8 hours of work. How much does she get? The answer is", "*"),
    ("There are 14 rows of seats with 25 seats in every row. How many seats are there? The answer is", "*"),
    ("A pack has 6 juice boxes. How many juice boxes are in 13 packs? The answer is", "*"),
    ("A runner runs 7 laps every day for 21 days. How many laps does he run? The answer is", "*"),
    ("One ticket costs 35 dollars. What do 12 tickets cost? The answer is", "*"),
    ("A garden has 16 beds with 9 plants in each bed. How many plants grow in the garden? The answer is", "*"),
    ("96 pencils are divided fairly among 8 kids. How many pencils does every kid get? The answer is", "/"),
    ("A class of 28 pupils forms groups of 4. How many groups are there? The answer is", "/"),
    ("A ribbon of 120 cm is cut into 5 equal parts. How long is each part? The answer is", "/"),
    ("Mom paid 84 dollars for 7 equal gifts. How much did one gift cost? The answer is", "/"),
    ("432 books are put on 12 shelves, the same number on each. How many books go on each shelf? The answer is", "/"),
    ("A farmer puts 150 eggs into boxes of 6. How many boxes does he fill? The answer is", "/"),
    ("A trip of 360 km takes 4 hours at the same speed. How many km does the car drive each hour? The answer is", "/"),
    ("6 friends split a bill of 78 dollars evenly. How much does each friend pay? The answer is", "/"),
]

DATE_Q = [  # (question, what the answer is)
    ("Sorry, I lost track. Which weekday is it today? It is", "weekday"),
    ("Calendar check. Today's weekday:", "weekday"),
    ("Kids, what day is it today? Mom says it is", "weekday"),
    ("The weekday today, please:", "weekday"),
    ("Which month are we in right now? We are in", "month"),
    ("Current month:", "month"),
    ("Tell me the month we are in. It is", "month"),
    ("What year is it now? It is", "year"),
    ("The year we live in right now is", "year"),
    ("Current year, please:", "year"),
    ("Please write today's date here:", "date"),
    ("What is the date today? Today is", "date"),
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out, exist_ok=True)
    facts = []
    for i in range(150):
        c, cap = COUNTRIES[(7 * i) % len(COUNTRIES)]
        facts.append({"prompt": FACT_Q[i % len(FACT_Q)].format(c=c), "answer": cap})
    math = [{"prompt": p, "answer": word_problem_answer(p, op)} for p, op in WORD_PROBLEMS]
    dates = []
    ds = dates_for(10 * len(DATE_Q), 5)
    for i, d in enumerate(ds):
        q, kind = DATE_Q[i % len(DATE_Q)]
        ans = {"weekday": WEEKDAYS[d.weekday()], "month": MONTHS[d.month - 1], "year": str(d.year),
               "date": "%s %d" % (MONTHS[d.month - 1], d.day)}[kind]
        dates.append({"prompt": q, "answer": ans, "date": d.isoformat()})
    for name, recs in (("facts", facts), ("math", math), ("dates", dates)):
        with open(os.path.join(out, name + ".jsonl"), "w", encoding="utf-8") as fh:
            for r in recs:
                fh.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
