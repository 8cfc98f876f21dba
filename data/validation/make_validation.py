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
    # 64 more, written 2026-12-08 before the change they first judged (36 problems moved the sum by
    # ten points between runs that changed nothing about arithmetic)
    ("Lena read 46 pages in the morning and 38 pages at night. How many pages did she read that day? The answer is", "+"),
    ("A zoo has 312 birds and 129 reptiles. How many birds and reptiles does it have in all? The answer is", "+"),
    ("Our team won 5 games in May and 7 games in June. How many games did we win? The answer is", "+"),
    ("A van drove 1240 km in one week and 985 km the next. How many km did it drive in the two weeks? The answer is", "+"),
    ("Omar saved 75 dollars and his aunt gave him 40 dollars. How much money does Omar have now? The answer is", "+"),
    ("The red team has 19 players and the blue team has 23. How many players are there on both teams? The answer is", "+"),
    ("A school ordered 560 blue shirts and 275 white shirts. How many shirts were ordered? The answer is", "+"),
    ("Pat baked 36 muffins, then baked 48 more. How many muffins did Pat bake? The answer is", "+"),
    ("A hotel had 218 guests on Friday night, and 94 more checked in on Saturday. How many guests are there now? The answer is", "+"),
    ("The soup needs 8 carrots and the salad needs 5. How many carrots should I buy? The answer is", "+"),
    ("Rita swam 650 meters yesterday and 720 meters today. How far has she swum so far? The answer is", "+"),
    ("A choir has 27 girls and 18 boys. How many singers are in the choir? The answer is", "+"),
    ("The museum had 2045 visitors in March and 1870 in April. How many visitors came in those two months? The answer is", "+"),
    ("Max has 57 toy cars. For his birthday he got 16 more. How many toy cars does he own? The answer is", "+"),
    ("A shelf holds 84 jars of jam and 67 jars of honey. How many jars are on the shelf? The answer is", "+"),
    ("The bus picked up 33 people at the station and 29 people at the park. How many people got on? The answer is", "+"),
    ("A pond had 82 ducks. 37 flew away. How many ducks stayed on the pond? The answer is", "-"),
    ("Leo had 500 dollars and spent 215 dollars on a bike. How much money is left? The answer is", "-"),
    ("The river is 3400 meters long, and we have rowed 1750 meters. How many meters remain? The answer is", "-"),
    ("A jar had 64 candies. Mia ate 9. How many candies are in the jar now? The answer is", "-"),
    ("A bookshop had 410 maps and sold 265 of them. How many maps does it have left? The answer is", "-"),
    ("The tree is 23 meters tall and the house is 8 meters tall. How much taller is the tree? The answer is", "-"),
    ("Out of 150 tickets, 87 have been sold. How many tickets are still for sale? The answer is", "-"),
    ("Dan weighs 74 kg and his little sister weighs 31 kg. What is the difference in their weights? The answer is", "-"),
    ("A farmer picked 920 apples and gave 380 to the neighbours. How many apples does the farmer keep? The answer is", "-"),
    ("There were 56 chairs in the room. Someone carried out 19. How many chairs are in the room now? The answer is", "-"),
    ("Zoe wants to read a book of 312 pages and has read 147. How many pages does she still have to read? The answer is", "-"),
    ("A truck carried 2600 kg of sand and dropped 1150 kg at the first site. How much sand is still on the truck? The answer is", "-"),
    ("The game costs 59 dollars and Ivan has 42 dollars. How much more money does he need? The answer is", "-"),
    ("A parking lot has 240 spaces and 168 cars are parked. How many spaces are empty? The answer is", "-"),
    ("Sue had 15 balloons and 6 of them popped. How many balloons are not popped? The answer is", "-"),
    ("In a class of 33 pupils, 14 are boys. How many girls are in the class? The answer is", "-"),
    ("A crate holds 24 bottles. How many bottles fit in 7 crates? The answer is", "*"),
    ("Each box of tea has 40 bags. How many tea bags are in 15 boxes? The answer is", "*"),
    ("A spider has 8 legs. How many legs do 13 spiders have? The answer is", "*"),
    ("Tina buys 9 notebooks that cost 4 dollars each. How much does she pay? The answer is", "*"),
    ("A train has 12 cars and each car has 64 seats. How many seats does the train have? The answer is", "*"),
    ("A factory makes 350 toys every day. How many toys does it make in 6 days? The answer is", "*"),
    ("There are 18 tables with 4 chairs at each table. How many chairs are there? The answer is", "*"),
    ("A bee visits 25 flowers every minute. How many flowers does it visit in 11 minutes? The answer is", "*"),
    ("Each page of the album holds 6 photos. How many photos fit on 32 pages? The answer is", "*"),
    ("A printer prints 15 pages per minute. How many pages does it print in 20 minutes? The answer is", "*"),
    ("A shop orders 8 boxes with 120 pens in each box. How many pens does it order? The answer is", "*"),
    ("Grandma knits 3 scarves a week. How many scarves does she knit in 17 weeks? The answer is", "*"),
    ("A school has 22 classrooms with 30 desks in each. How many desks are in the school? The answer is", "*"),
    ("The cinema sells 75 tickets per show and has 9 shows. How many tickets can it sell? The answer is", "*"),
    ("A hen lays 5 eggs a week. How many eggs do 14 hens lay in a week? The answer is", "*"),
    ("One crayon box has 16 crayons. How many crayons are in 25 boxes? The answer is", "*"),
    ("There are 144 cupcakes to be put on 12 trays equally. How many cupcakes go on each tray? The answer is", "/"),
    ("A rope of 90 meters is cut into pieces of 9 meters. How many pieces are there? The answer is", "/"),
    ("The 8 brothers share 248 dollars equally. How much does each brother get? The answer is", "/"),
    ("A teacher has 63 stickers for 7 pupils, the same number for each. How many stickers does each pupil get? The answer is", "/"),
    ("A car drives 455 km on 35 liters of fuel. How many km does it go on one liter? The answer is", "/"),
    ("The farmer packs 1200 potatoes into sacks of 25. How many sacks does he need? The answer is", "/"),
    ("A book of 216 pages is read in 9 days, the same number of pages each day. How many pages a day is that? The answer is", "/"),
    ("560 people are seated at tables of 8. How many tables are full? The answer is", "/"),
    ("A baker divides 96 rolls into bags of 12. How many bags does she fill? The answer is", "/"),
    ("Some friends won 1350 dollars and split it evenly, 5 ways. What is each share? The answer is", "/"),
    ("A gardener plants 84 trees in 6 equal rows. How many trees stand in each row? The answer is", "/"),
    ("The school bus makes 4 trips to carry 172 children. How many children ride on each trip, if all trips are full? The answer is", "/"),
    ("A chocolate bar of 48 squares is shared by 6 kids. How many squares does each kid get? The answer is", "/"),
    ("A bike tour of 135 km lasts 3 days with the same distance each day. How many km is that per day? The answer is", "/"),
    ("The club has 725 dollars to spend on 25 new balls, all at one price. How much does one ball cost? The answer is", "/"),
    ("A box of 200 screws is divided among 8 workers. How many screws does each worker get? The answer is", "/"),
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

# Sentences that ask nothing: the date part is where the sentence goes on (2026-12-08, written before
# the annotation grammar's open-ended date sentences, which were judged on them; the earlier sets'
# 120 prompts come first in dates.jsonl, these 120 after them)
DATE_OPEN = [
    ("Ugh, I overslept again. Luckily it is", "weekday"),
    ("The gym is crowded, as it always is on a", "weekday"),
    ("Mark your attendance for today, which is a", "weekday"),
    ("We only serve fish on one day, and that day is today:", "weekday"),
    ("My bus pass shows the weekday, and today it shows", "weekday"),
    ("Tom was sure it was the weekend, but it is only", "weekday"),
    ("The trash truck came early this morning, as it does every", "weekday"),
    ("The cinema has cheap tickets today because it is", "weekday"),
    ("I start my new job today, on a", "weekday"),
    ("The shop closes at noon today, since it is", "weekday"),
    ("The first snow fell today, and it is only", "month"),
    ("The rent for this month is due. This month is", "month"),
    ("Our garden club meets all through this month,", "month"),
    ("Birthdays we celebrate this month, the month of", "month"),
    ("The electricity bill covers the whole of this month,", "month"),
    ("Strawberries are cheap right now, in the month of", "month"),
    ("Posters for the town fair this month say it is held all of", "month"),
    ("My passport was issued this year, in", "year"),
    ("The new bridge opens later this year, in", "year"),
    ("Class photo, students of this year,", "year"),
    ("Price list for the current year,", "year"),
    ("Our family reunion is this summer, in the year", "year"),
    ("Tax forms for this year, the year", "year"),
    ("The town turns 200 years old this year, in", "year"),
    ("Receipt printed today,", "date"),
    ("Letter to Aunt Rose, written today,", "date"),
    ("We moved into the new flat today,", "date"),
    ("The parcel arrived this morning; the stamp on it reads", "date"),
    ("Lab notebook, entry for today:", "date"),
    ("Today's lunch menu, printed on", "date"),
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
    qs = [DATE_Q[i % len(DATE_Q)] for i in range(10 * len(DATE_Q))]
    qs += [DATE_OPEN[i % len(DATE_OPEN)] for i in range(4 * len(DATE_OPEN))]
    for (q, kind), d in zip(qs, dates_for(len(qs), 5)):
        ans = {"weekday": WEEKDAYS[d.weekday()], "month": MONTHS[d.month - 1], "year": str(d.year),
               "date": "%s %d" % (MONTHS[d.month - 1], d.day)}[kind]
        dates.append({"prompt": q, "answer": ans, "date": d.isoformat()})
    for name, recs in (("facts", facts), ("math", math), ("dates", dates)):
        with open(os.path.join(out, name + ".jsonl"), "w", encoding="utf-8") as fh:
            for r in recs:
                fh.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
