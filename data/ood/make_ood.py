#!/usr/bin/env python3
"""make_ood.py — writes the out-of-template test sets (dates.jsonl, facts.jsonl, math.jsonl) in
this folder from the prompts written by hand below.

The prompts were written by a person, before any change to the recipe, and independently of it:
nothing here is imported by data/gen.py, and data/ood_check.py fails when any 6-word span of them
occurs in the recipe's output. The only input from the recipe is its list of held-out countries and
years (data/README.md), so that a prompt asks for something no training text states.

usage: make_ood.py [OUT_DIR]   (default: this folder; deterministic, no randomness)
"""
import datetime as dt
import json
import os
import re
import sys

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
HELDOUT_YEARS = [2009, 2018, 2027]  # the recipe's held-out years (gen.py's HELDOUT_YEARS)

# The recipe's held-out countries that stay in its eval_facts set (61 of 70; heldout.json)
COUNTRIES = [
    ("Algeria", "Algiers"), ("Barbados", "Bridgetown"), ("Bhutan", "Thimphu"),
    ("British Virgin Islands", "Road Town"), ("Brunei Darussalam", "Bandar Seri Begawan"),
    ("Bulgaria", "Sofia"), ("Burkina Faso", "Ouagadougou"), ("Central African Republic", "Bangui"),
    ("Croatia", "Zagreb"), ("Czech Republic", "Prague"), ("Dominica", "Roseau"),
    ("Dominican Republic", "Santo Domingo"), ("Ecuador", "Quito"), ("Eritrea", "Asmara"),
    ("Estonia", "Tallinn"), ("Fiji", "Suva"), ("Ghana", "Accra"), ("Guyana", "Georgetown"),
    ("Holy See", "Vatican City"), ("Iceland", "Reykjavik"), ("Indonesia", "Jakarta"),
    ("Iran", "Tehran"), ("Kazakhstan", "Astana"), ("Kenya", "Nairobi"), ("Kiribati", "Tarawa"),
    ("Latvia", "Riga"), ("Lesotho", "Maseru"), ("Liberia", "Monrovia"), ("Liechtenstein", "Vaduz"),
    ("Lithuania", "Vilnius"), ("Madagascar", "Antananarivo"), ("Martinique", "Fort-de-France"),
    ("Mauritania", "Nouakchott"), ("Mayotte", "Mamoutzou"), ("Mongolia", "Ulaanbaatar"),
    ("Morocco", "Rabat"), ("Mozambique", "Maputo"), ("Myanmar", "Rangoon"), ("Nepal", "Kathmandu"),
    ("Netherlands Antilles", "Willemstad"), ("Norfolk Island", "Kingston"),
    ("Northern Mariana Islands", "Saipan"), ("Russian Federation", "Moscow"), ("Senegal", "Dakar"),
    ("Slovakia", "Bratislava"), ("Slovenia", "Ljubljana"), ("Solomon Islands", "Honiara"),
    ("Somalia", "Mogadishu"), ("South Africa", "Pretoria"), ("Sri Lanka", "Colombo"),
    ("Swaziland", "Mbabane"), ("Thailand", "Bangkok"), ("Timor-Leste", "Dili"), ("Togo", "Lome"),
    ("Tuvalu", "Funafuti"), ("United Arab Emirates", "Abu Dhabi"), ("Uzbekistan", "Tashkent"),
    ("Vanuatu", "Port Vila"), ("Viet Nam", "Hanoi"), ("Zambia", "Lusaka"), ("Zimbabwe", "Harare"),
]

# ---- today's date, asked as people ask it. The answer starts right after the prompt.
WEEKDAY_Q = [
    "What day of the week is it today? It is",
    "Q: What day is it today? A:",
    "Q: Which day of the week is today? A: Today is",
    "I keep losing track of time. Today is a",
    "My phone's lock screen says it is",
    "Day of the week:",
    "Weekday:",
    "She asked me what day it was, and I said it was",
    "Good morning, everyone, and happy",
    "Checking in from the office on this fine",
    "Quick question: what weekday is it? It's",
    "It's hard to believe, but today is already",
    "Which day is it? Today happens to be a",
    "Remind me, what day of the week are we on? We are on a",
    "Welcome back! In case you forgot, it's",
    "Today's weekday is",
    "The school bus comes every weekday, and today is",
    "I woke up today and realized it was",
    "Sorry for the late reply. It has been a long",
    "What weekday is it? Let me check. It's",
    "The cleaner comes once a week. She is here today, on a",
    "Question: which day of the week is today? Answer:",
    "On the whiteboard the teacher wrote the day:",
    "Name today's day of the week:",
    "Is it Friday yet? No, today is only",
    "If anyone asks, today is",
    "Log entry. Day:",
    "The pharmacy has special hours today because it is",
    "Grandpa asked which day it was. I told him it was",
    "Our weekly newsletter goes out today,",
    "Can you tell me the day? Sure, today is",
    "Current day of the week -",
    "Meeting notes, written this",
    "Reminder: the bins go out tonight, which means it's",
    "I have a dentist appointment this afternoon, on this",
    "Status update for the team this",
    "The day today, in case you lost count, is",
    "Which weekday are we in? Today we have a",
    "Attendance sheet. Day of the week:",
    "It feels like a Monday, but actually it's",
    "We always go swimming on this day of the week, and today is",
    "Hello from the museum! We are open today, a",
    "Dinner plans for tonight,",
    "My diary entry starts with the day:",
    "The weekday right now is",
    "Tell me what day it is. It is",
    "Shift schedule. Today:",
    "Hey, what day is it? It's",
    "Is the library open today? Let me think, today is",
    "Weather report for this",
]
MONTH_Q = [
    "What month is it? It is",
    "Q: Which month are we in? A:",
    "Month:",
    "We are now in the month of",
    "The calendar on the kitchen wall shows",
    "Q: What is the current month? A: It is",
    "My rent is due at the end of this month, which is",
    "Monthly report for",
    "The flowers in the garden tell me it is",
    "Which month is it right now? Right now it is",
    "Current month:",
    "I can't believe it is already",
    "Our book club picked a new novel for this month,",
    "The newsletter for this month,",
    "Question: which month is it? Answer:",
    "Name the current month:",
    "The electricity bill for this month,",
    "Birthdays celebrated this month,",
    "Everyone at school is talking about the new month,",
    "The page on the calendar says",
    "In case you wonder which month it is, it is",
    "Sales figures for the current month,",
    "Tell me which month it is. Sure, it is",
    "The month right now is",
    "Hey, what month is it? It's",
    "Our club meets every month; this month is",
    "Month of the year:",
    "This month's name is",
    "Schedule for the whole month of",
    "Last day of the month is coming; the month is",
    "What's the month again? It's",
    "Which month do we have now? We have",
    "The school magazine, issue of",
    "Remind me of the month, please. It is",
    "Time sheet for the month:",
    "I always forget the month. Today it is",
    "We moved into this flat at the start of this month,",
    "Gardening tips for this month,",
    "Please write the month on your form. Month:",
    "The month shown on my watch is",
]
YEAR_Q = [
    "What year is it? It is",
    "Q: Which year is it now? A:",
    "Year:",
    "Q: What is the current year? A: It is",
    "All rights reserved, copyright",
    "Happy New Year! Welcome to",
    "The annual report for the year",
    "Which year are we living in? We are living in",
    "The current year, if you lost count, is",
    "Question: what year is it? Answer:",
    "Tax return for the year",
    "Name the year we are in:",
    "My passport was issued this year, in",
    "Class photo, school year",
    "The calendar on my desk is for the year",
    "It has been a long year. Goodbye,",
    "Hey, what year is it? It's",
    "Budget plan for this year,",
    "Tell me the year. The year is",
    "Our family reunion this year,",
    "Please write the year on the form. Year:",
    "Right now the year is",
    "This year's town festival,",
    "The yearbook for the graduating class of",
    "Which year is this? This is",
    "Current year:",
    "My new car is a model from this year,",
    "Vintage: this year's wine,",
    "Summer holidays this year,",
    "The year printed on today's newspaper is",
    "Winter of this year,",
    "Remind me which year it is. It is",
    "What's the year again? It's",
    "Looking back on this year,",
    "The year we are in now is",
    "Calendar of events for the year",
    "Membership card valid for the year",
    "The club was founded long ago, but now it is",
    "Football season of this year,",
    "Today's date has this year in it:",
]
# the day of the month: with the month named in the prompt the answer is the day; without it,
# the answer is "Month D" (days 10-31 but not 18, 20 or 27, so that no answer is a piece of a
# longer number or of a held-out year)
DAY_Q = [
    "What's the date today? It is",
    "Q: What is today's date? A:",
    "Date:",
    "Today's date is",
    "Q: What is the date? A: It is",
    "Please write today's date on the first line:",
    "Dated:",
    "Signed and dated today,",
    "Which date is it today? It is",
    "Question: what is the date today? Answer:",
    "Tell me the date, please. Sure, it is",
    "Hey, what's the date? It's",
    "The receipt was printed today,",
    "The date right now is",
    "Today, the",
    "Diary entry for today,",
    "My appointment is today,",
    "Posted today,",
    "Minutes of the meeting held today,",
    "Today's newspaper is dated",
]
DAY_Q_MONTH = [  # {m}: the month, named in the prompt; the answer is the day
    "We are in {m}. What day of the month is it? It is {m}",
    "Today's date: {m}",
    "It is the middle of {m}; to be exact, today is {m}",
    "The letter was written today, {m}",
    "Date of this entry: {m}",
    "Q: What date is it today? A: {m}",
    "The form asks for today's date, so I wrote {m}",
    "Delivered today, {m}",
    "Which day of {m} is it today? It is {m}",
    "Today is a nice day in {m}; the date is {m}",
    "Daily report, {m}",
    "Entry written on {m}",
    "Hey, what's today's date? It's {m}",
    "Due today, {m}",
    "My calendar shows that today is {m}",
    "Invoice issued today, {m}",
    "Today's date in full: {m}",
    "Menu for today, {m}",
    "Photo taken today, {m}",
    "The stamp on today's mail reads {m}",
]

# ---- capitals of the held-out countries, asked as people ask them ({c}: the country)
FACT_Q = [
    "Q: What is the capital of {c}? A:",
    "What is the capital city of {c}? The capital is",
    "Which city is the capital of {c}? It is",
    "Capital of {c}:",
    "If you visit {c}, you will probably start in its capital,",
    "My cousin just moved to the capital of {c}, which is",
    "Fun fact: the capital of {c} is the city of",
    "Quiz time! Name the capital of {c}. Answer:",
    "Do you know the capital of {c}? Yes, it is",
    "{c}'s seat of government is the city of",
    "In {c}, the parliament meets in",
    "Flights to {c} usually land in its capital,",
    "Name the capital of {c}:",
    "The main city and capital of {c} is",
    "Tell me the capital of {c}. Sure! It is",
    "Which city serves as the capital of {c}? Answer:",
    "Capital city ({c}):",
    "For the quiz: {c}, capital city:",
    "I am writing a school report on {c}. Its capital is",
    "The capital of {c}? That would be",
    "A postcard from the capital of {c}, the lovely city of",
    "Q: {c} capital? A:",
    "The president of {c} works in the capital,",
    "Country: {c}, capital city:",
    "Where does the government of {c} meet? It meets in",
    "Hey, what's the capital of {c}? It's",
    "Travel guide to {c}. The capital,",
    "Question: what is the capital of {c}? Answer:",
    "Most ministries of {c} are located in its capital,",
    "The embassy told us to apply in the capital of {c},",
]

# ---- one-operation word problems: two numbers, one of + - x /, written out as a person would.
# (text, op); the answer is computed from the two numbers in the text, in the order they appear.
WORD_PROBLEMS = [
    # addition
    ("Mia had 12 stickers. Her friend gave her 7 more. How many stickers does Mia have now? The answer is", "+"),
    ("A farmer planted 245 corn plants on Monday and 318 on Tuesday. How many did he plant altogether? The answer is", "+"),
    ("There are 36 boys and 41 girls in the gym. How many children are in the gym? The answer is", "+"),
    ("Lena read 89 pages yesterday and 57 pages today. How many pages has she read in the two days? The answer is", "+"),
    ("A bus carried 1240 passengers on its early trips and 985 on its late trips. How many passengers did it carry that day? The answer is", "+"),
    ("Omar saved 350 dollars in June and 275 dollars in July. How much did he save in total? The answer is", "+"),
    ("The zoo has 8 lions and 5 tigers. How many big cats does the zoo have? The answer is", "+"),
    ("A baker made 144 muffins and then 96 cupcakes. How many cakes did the baker make in all? The answer is", "+"),
    ("Jake scored 23 points in the first half and 19 points in the second half. What was his total score? The answer is", "+"),
    ("A library got 2150 new books last year and 1875 this year. How many new books did it get over both years? The answer is", "+"),
    ("There were 64 birds on a tree. Then 29 more birds landed on it. How many birds are on the tree now? The answer is", "+"),
    ("Priya walked 3 miles on Saturday and 4 miles on Sunday. How far did she walk over the weekend? The answer is", "+"),
    ("A school ordered 480 pencils and 520 erasers. How many items did it order? The answer is", "+"),
    ("Carlos has 15 marbles and finds 26 more in the garden. How many marbles does he have now? The answer is", "+"),
    ("The first train had 312 seats taken and the second had 407. How many seats were taken on both trains? The answer is", "+"),
    ("A shop sold 58 umbrellas on Friday and 73 on Saturday. How many umbrellas were sold on the two days? The answer is", "+"),
    ("Nina put 9 apples in a bowl, and her brother added 6 more. How many apples are in the bowl? The answer is", "+"),
    ("A town had 3465 people. Then 1280 new people moved in. How many people live there now? The answer is", "+"),
    ("Sam collected 47 shells and Tara collected 38 shells. How many shells did they collect together? The answer is", "+"),
    ("The red team has 16 players and the blue team has 14. How many players are there altogether? The answer is", "+"),
    ("A parking lot has 125 cars. Later 67 more cars park there. How many cars are in the lot? The answer is", "+"),
    ("Ella baked 24 cookies in the morning and 36 cookies in the afternoon. How many cookies did she bake? The answer is", "+"),
    ("A plane flew 1650 km on the first day and 2340 km on the second day. How far did it fly in those two days? The answer is", "+"),
    ("Mr. Lee bought a shirt for 28 dollars and a hat for 17 dollars. How much did he spend? The answer is", "+"),
    ("There are 205 red roses and 198 white roses in the park. How many roses are there? The answer is", "+"),
    ("Ben is 11 years old. His father is 29 years older than Ben. How old is his father? The answer is", "+"),
    ("A pond had 73 fish. The owner added 45 fish. How many fish are in the pond now? The answer is", "+"),
    ("Maya has 5 pencils in her bag and 8 pencils on her desk. How many pencils does she have? The answer is", "+"),
    ("The museum had 890 visitors on Saturday and 1120 on Sunday. How many visitors came that weekend? The answer is", "+"),
    ("A box holds 52 red beads and 87 blue beads. How many beads are in the box? The answer is", "+"),
    ("Tom drove 134 miles before lunch and 98 miles after lunch. How many miles did he drive? The answer is", "+"),
    ("A class raised 415 dollars at a bake sale and 260 dollars at a car wash. How much money did the class raise? The answer is", "+"),
    ("Grace has 7 cats and 2 dogs. How many pets does she have? The answer is", "+"),
    ("The farm has 1500 chickens and 2750 ducks. How many birds live on the farm? The answer is", "+"),
    ("In the first week Leo ran 21 km, and in the second week he ran 33 km. How many kilometres did he run in both weeks? The answer is", "+"),
    ("A cinema sold 176 tickets for the early show and 229 for the late show. How many tickets were sold in all? The answer is", "+"),
    ("There are 62 cups on one shelf and 39 cups on another. How many cups are there on the shelves? The answer is", "+"),
    ("A plant was 18 cm tall. It grew another 13 cm. How tall is it now? The answer is", "+"),
    ("Hannah has 305 songs on her phone and downloads 96 more. How many songs does she have? The answer is", "+"),
    ("A factory made 4100 bottles on Monday and 3950 on Tuesday. How many bottles did it make? The answer is", "+"),
    ("Two classes went on a trip: one had 27 students and the other had 31. How many students went? The answer is", "+"),
    ("Olivia had 450 points in the game and won 275 more. What is her score now? The answer is", "+"),
    ("A jar had 6 candies and Dad put in 9 more. How many candies are in the jar? The answer is", "+"),
    ("The bakery used 85 eggs in the morning and 67 eggs in the afternoon. How many eggs did it use? The answer is", "+"),
    ("A hiker climbed 720 meters before noon and 485 meters after noon. How many meters did she climb? The answer is", "+"),
    # subtraction
    ("Anna had 45 balloons. 17 of them popped. How many balloons does she have left? The answer is", "-"),
    ("A store had 820 boxes of cereal and sold 365 of them. How many boxes are left? The answer is", "-"),
    ("There were 13 ducks in the pond. 5 ducks flew away. How many ducks are still in the pond? The answer is", "-"),
    ("Kevin had 1500 dollars in his account and spent 675 dollars. How much money is left? The answer is", "-"),
    ("A rope is 96 meters long. Dad cuts off 38 meters. How long is the rest of the rope? The answer is", "-"),
    ("The theater has 540 seats. 392 seats are taken. How many seats are empty? The answer is", "-"),
    ("Lucy is 42 years old and her son is 15. How much older is Lucy than her son? The answer is", "-"),
    ("A book has 310 pages. Ravi has read 124 pages. How many pages does he still have to read? The answer is", "-"),
    ("Max had 28 toy cars and gave away 9 to his little brother. How many toy cars does Max have now? The answer is", "-"),
    ("A tank holds 2000 liters of water. After a day, 745 liters are used. How much water is left in the tank? The answer is", "-"),
    ("The mountain is 4810 meters high and the hill is 1230 meters high. How much higher is the mountain? The answer is", "-"),
    ("There were 72 cookies on the plate. The children ate 46. How many cookies remain? The answer is", "-"),
    ("A train had 265 passengers. At the first stop 87 got off. How many passengers are still on the train? The answer is", "-"),
    ("Jenny had 8 oranges. She gave 3 to her friend. How many oranges does Jenny have? The answer is", "-"),
    ("A shirt costs 64 dollars and a tie costs 25 dollars. How much more does the shirt cost? The answer is", "-"),
    ("The school had 1320 students last year and 1185 this year. How many fewer students are there this year? The answer is", "-"),
    ("A farmer had 57 sheep. 19 sheep ran away. How many sheep does he have now? The answer is", "-"),
    ("Mark needs 500 points to win. He has 358 points. How many more points does he need? The answer is", "-"),
    ("A bookshelf held 93 books. Emma took 27 books to school. How many books are on the shelf now? The answer is", "-"),
    ("The trip is 650 km long. We have driven 415 km. How many kilometres are left? The answer is", "-"),
    ("There are 34 students in the class. 16 are girls. How many are boys? The answer is", "-"),
    ("A baker made 240 rolls and sold 185. How many rolls were not sold? The answer is", "-"),
    ("Sara had 15 dollars. She bought a book for 7 dollars. How much money does she have left? The answer is", "-"),
    ("A river is 3400 km long and a smaller river is 1750 km long. What is the difference in their lengths? The answer is", "-"),
    ("Peter had 126 stamps and lost 48 of them when he moved. How many stamps does he have? The answer is", "-"),
    ("A jug has 900 ml of milk. Mom pours out 350 ml. How much milk is in the jug now? The answer is", "-"),
    ("The tree had 81 apples. 29 fell to the ground. How many apples are still on the tree? The answer is", "-"),
    ("A concert hall sold 1450 tickets out of 2000. How many tickets were not sold? The answer is", "-"),
    ("Chris weighs 68 kg and his sister weighs 49 kg. How much heavier is Chris? The answer is", "-"),
    ("A jar had 11 marbles. Sam took out 4. How many marbles are left in the jar? The answer is", "-"),
    ("The shop had 475 pairs of shoes and sold 198 pairs during the sale. How many pairs are left? The answer is", "-"),
    ("A school bus had 52 seats, and 37 children got on. How many seats are free? The answer is", "-"),
    ("Amy wants to buy a bike for 230 dollars. She has saved 145 dollars. How much more does she need? The answer is", "-"),
    ("A field had 6250 plants. Frost killed 1375 of them. How many plants survived? The answer is", "-"),
    ("There were 19 pieces of cake. The guests ate 12 pieces. How many pieces are left? The answer is", "-"),
    ("A ship carried 836 containers and unloaded 419 at the port. How many containers are still on the ship? The answer is", "-"),
    ("Leo has 70 minutes for his homework. He has already used 44 minutes. How many minutes are left? The answer is", "-"),
    ("The city had 9800 trees. Builders cut down 2450. How many trees does the city have now? The answer is", "-"),
    ("Rosa had 33 crayons and gave away 14 of them. How many crayons does she have? The answer is", "-"),
    ("A water bottle holds 750 ml. Tim drank 280 ml. How much water is still in the bottle? The answer is", "-"),
    ("The price was 88 dollars, and now it is 59 dollars. By how much did the price drop? The answer is", "-"),
    ("A hotel has 160 rooms. 97 rooms are booked. How many rooms are still free? The answer is", "-"),
    ("Dan had 9 candles and used 6 of them. How many candles does Dan have left? The answer is", "-"),
    ("A printer had 1200 sheets of paper and printed 865 pages. How many sheets are left? The answer is", "-"),
    ("The marathon is 42 km long. Julia has run 26 km. How far does she still have to run? The answer is", "-"),
    # multiplication
    ("A box has 6 rows of eggs with 12 eggs in each row. How many eggs are in the box? The answer is", "*"),
    ("Each ticket costs 15 dollars. How much do 8 tickets cost? The answer is", "*"),
    ("There are 24 students in each class, and the school has 35 classes. How many students are in the school? The answer is", "*"),
    ("A spider has 8 legs. How many legs do 7 spiders have? The answer is", "*"),
    ("A car travels 65 miles each hour. How far does it go in 4 hours? The answer is", "*"),
    ("One bag holds 125 grams of nuts. How many grams are in 9 bags? The answer is", "*"),
    ("A farmer plants 18 rows of trees with 23 trees in each row. How many trees does he plant? The answer is", "*"),
    ("Each pack has 6 juice boxes. Mom buys 5 packs. How many juice boxes does she buy? The answer is", "*"),
    ("A worker earns 32 dollars an hour. How much does she earn in 40 hours? The answer is", "*"),
    ("A book has 14 chapters, and each chapter has 22 pages. How many pages does the book have? The answer is", "*"),
    ("A theater has 45 rows with 30 seats in each row. How many seats does the theater have? The answer is", "*"),
    ("Each week Jamal saves 12 dollars. How much will he save in 26 weeks? The answer is", "*"),
    ("A bicycle has 2 wheels. How many wheels do 135 bicycles have? The answer is", "*"),
    ("One crate holds 48 bottles. How many bottles are in 25 crates? The answer is", "*"),
    ("A garden has 9 rows of tulips with 11 tulips in each row. How many tulips are there? The answer is", "*"),
    ("There are 7 days in a week. How many days are there in 52 weeks? The answer is", "*"),
    ("Each student needs 3 notebooks. How many notebooks do 214 students need? The answer is", "*"),
    ("A printer prints 85 pages a minute. How many pages does it print in 12 minutes? The answer is", "*"),
    ("A pizza is cut into 8 slices. How many slices are in 16 pizzas? The answer is", "*"),
    ("A bus can carry 54 people. How many people can 6 buses carry? The answer is", "*"),
    ("Each box of pencils has 10 pencils. The school buys 375 boxes. How many pencils does it buy? The answer is", "*"),
    ("A dog eats 4 cups of food every day. How many cups does it eat in 30 days? The answer is", "*"),
    ("A shelf has 5 boxes, and each box has 16 toys. How many toys are on the shelf? The answer is", "*"),
    ("Pens cost 3 dollars each. How much do 47 pens cost? The answer is", "*"),
    ("A machine fills 250 cans every hour. How many cans does it fill in 8 hours? The answer is", "*"),
    ("Every table seats 6 guests. How many guests can sit at 19 tables? The answer is", "*"),
    ("A runner does 4 laps of a 400 meter track. How many meters does she run? The answer is", "*"),
    ("Each carton holds 12 eggs. How many eggs are in 13 cartons? The answer is", "*"),
    ("A teacher gives 5 stickers to each of her 28 students. How many stickers does she give away? The answer is", "*"),
    ("A hen lays 6 eggs a week. How many eggs do 21 hens lay in a week? The answer is", "*"),
    ("A building has 15 floors with 12 windows on each floor. How many windows does it have? The answer is", "*"),
    ("A movie ticket costs 11 dollars. How much do 9 tickets cost? The answer is", "*"),
    ("Each bag of flour weighs 25 kg. How much do 36 bags weigh? The answer is", "*"),
    ("There are 60 minutes in an hour. How many minutes are there in 7 hours? The answer is", "*"),
    ("A packet has 20 seeds. How many seeds are in 14 packets? The answer is", "*"),
    # division
    ("72 students are split into 8 equal teams. How many students are in each team? The answer is", "/"),
    ("A baker has 96 rolls and puts 12 in each bag. How many bags does she fill? The answer is", "/"),
    ("4 friends share 48 dollars equally. How much does each friend get? The answer is", "/"),
    ("A rope 150 meters long is cut into 6 equal pieces. How long is each piece? The answer is", "/"),
    ("There are 84 chairs arranged in 7 equal rows. How many chairs are in each row? The answer is", "/"),
    ("Mom shares 30 grapes equally among her 5 children. How many grapes does each child get? The answer is", "/"),
    ("A car goes 15 km on one liter of fuel. How many liters does it need for 360 km? The answer is", "/"),
    ("A school has 525 students and 21 classes of the same size. How many students are in each class? The answer is", "/"),
    ("Tickets cost 9 dollars each. How many tickets can you buy with 108 dollars? The answer is", "/"),
    ("A farmer packs 240 apples into boxes of 20. How many boxes does he need? The answer is", "/"),
    ("A book with 256 pages is read in 8 days, the same number of pages each day. How many pages are read per day? The answer is", "/"),
    ("There are 63 cookies for 9 children, shared equally. How many cookies does each child get? The answer is", "/"),
    ("A worker earned 1200 dollars in 40 hours. How much did he earn per hour? The answer is", "/"),
    ("A class of 36 students sits at tables of 4. How many tables are needed? The answer is", "/"),
    ("A 2400 meter race is run in laps of 400 meters. How many laps is that? The answer is", "/"),
    ("Ali divides 56 marbles equally into 7 bags. How many marbles go into each bag? The answer is", "/"),
    ("A pack of 144 crayons is split equally among 12 kids. How many crayons does each kid get? The answer is", "/"),
    ("A car drove 330 miles in 6 hours at the same speed. How many miles did it drive each hour? The answer is", "/"),
    ("The teacher has 45 pencils to hand out, 3 to each student. How many students get pencils? The answer is", "/"),
    ("A garden of 1000 square meters is divided into 25 equal plots. How big is each plot? The answer is", "/"),
    ("There are 81 flowers to put into 9 vases, the same number in each. How many flowers go in each vase? The answer is", "/"),
    ("A 45 kg bag of rice is shared among 5 families. How many kilograms does each family get? The answer is", "/"),
    ("A ribbon 88 cm long is cut into pieces of 11 cm. How many pieces are there? The answer is", "/"),
    ("Grandma gave 600 dollars to be shared equally by her 4 grandchildren. How much does each grandchild get? The answer is", "/"),
    ("A truck carries 3600 kg of sand in 9 equal loads. How heavy is each load? The answer is", "/"),
    ("A box of 42 chocolates is shared among 6 people. How many chocolates does each person get? The answer is", "/"),
    ("Emma runs 35 km in 7 days, the same distance each day. How far does she run each day? The answer is", "/"),
    ("A hotel has 192 rooms on 8 floors, with the same number of rooms on each floor. How many rooms are on each floor? The answer is", "/"),
    ("There are 120 eggs packed in cartons of 12. How many cartons are there? The answer is", "/"),
    ("5 friends split a bill of 85 dollars evenly. How much does each friend pay? The answer is", "/"),
    ("A tailor has 27 meters of cloth and needs 3 meters for each coat. How many coats can she make? The answer is", "/"),
    ("A pizza party costs 176 dollars for 16 kids. How much is that per kid? The answer is", "/"),
    ("A bus trip of 270 km takes 3 hours. How many kilometres does the bus travel per hour? The answer is", "/"),
    ("There are 1500 sheets of paper to be put into 6 equal stacks. How many sheets are in each stack? The answer is", "/"),
    ("A coach has 64 balls to share equally between 2 teams. How many balls does each team get? The answer is", "/"),
]

NUM = re.compile(r"\d+")


def day_ok(d):
    return d.day >= 10 and d.day not in (18, 20, 27)


def dates_for(n, salt):
    """n distinct dates in the held-out years, spread over the weekdays and months (no randomness)."""
    out, i = [], 0
    while len(out) < n:
        y = HELDOUT_YEARS[(i + salt) % 3]
        d = dt.date(y, 1, 1) + dt.timedelta(days=(37 * i + 11 * salt + 5) % 365)
        i += 1
        if day_ok(d) and d not in out:
            out.append(d)
    return out


def word_problem_answer(text, op):
    """The answer of a one-operation word problem with two numbers, as a string: their sum, the
    larger less the smaller, their product, or the larger divided by the smaller (whatever their
    order in the text). Exits with one line when the text does not hold two numbers, or the answer
    would be inexact or not positive."""
    nums = [int(x) for x in NUM.findall(text)]
    if len(nums) != 2:
        sys.exit("make_ood.py: not two numbers in: " + text)
    a, b = max(nums), min(nums)
    if op == "/" and a % b:
        sys.exit("make_ood.py: inexact division in: " + text)
    r = {"+": a + b, "-": a - b, "*": a * b, "/": a // b}[op]
    if r <= 0:
        sys.exit("make_ood.py: non-positive answer in: " + text)
    return str(r)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    os.makedirs(out, exist_ok=True)
    groups = []
    for qs, salt, ans in ((WEEKDAY_Q, 0, lambda d: WEEKDAYS[d.weekday()]), (MONTH_Q, 1, lambda d: MONTHS[d.month - 1]),
                          (YEAR_Q, 2, lambda d: str(d.year)), (DAY_Q, 3, lambda d: "%s %d" % (MONTHS[d.month - 1], d.day)),
                          (DAY_Q_MONTH, 4, lambda d: str(d.day))):
        groups.append([{"prompt": q.format(m=MONTHS[d.month - 1]), "answer": ans(d), "date": d.isoformat()}
                       for q, d in zip(qs, dates_for(len(qs), salt))])
    facts = []
    for i in range(3 * len(COUNTRIES)):
        c, cap = COUNTRIES[i % len(COUNTRIES)]
        j = i + i // len(COUNTRIES) * 7
        # a name of several words would make "the capital of Viet Nam is" a 6-word span of the
        # recipe's own sentences: such names take the next wording without that phrase
        while " " in c and any(("%s " + c) % p in FACT_Q[j % len(FACT_Q)].format(c=c).lower().replace(c.lower(), c)
                               for p in ("the capital of", "government of")):
            j += 1
        q = FACT_Q[j % len(FACT_Q)]
        facts.append({"prompt": q.format(c=c), "answer": cap})
    math = [{"prompt": text, "answer": word_problem_answer(text, op)} for text, op in WORD_PROBLEMS]
    # interleave the kinds so that a --max-examples prefix holds all of them
    def interleave(gs):
        return [g[i] for i in range(max(len(g) for g in gs)) for g in gs if i < len(g)]
    dates = interleave(groups)
    kinds = {op: [{"prompt": t, "answer": r["answer"]} for (t, o), r in zip(WORD_PROBLEMS, math) if o == op] for op in "+-*/"}
    math = interleave([kinds[op] for op in "+-*/"])
    for name, recs in (("dates.jsonl", dates), ("facts.jsonl", facts), ("math.jsonl", math)):
        with open(os.path.join(out, name), "w", encoding="utf-8") as fh:
            for r in recs:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    sys.stderr.write("make_ood.py: %d dates, %d facts, %d word problems\n" % (len(dates), len(facts), len(math)))


if __name__ == "__main__":
    main()
