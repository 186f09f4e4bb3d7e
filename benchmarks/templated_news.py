"""Templated news for the dedup benchmark: distinct stories written from one template.

Much real news is filled in from a template: market reports ("Shares of X rose 2.3% to 41.20
euros in Frankfurt trading on Tuesday..."), sports results, weather bulletins, earnings
releases. Two such stories share every word of the template and differ only in names, numbers
and dates, so a near-duplicate detector may wrongly take them for copies of one story. Each
template below has 3-6 sentences; `templated_story` fills one with fresh companies, teams,
people, places and numbers, so that every story is distinct (the benchmark checks that the
product keeps them apart, while still finding their planted copies).
"""

from __future__ import annotations

import random

SYLLABLES = "ka ro mi to na le sa bu di go ha ji ku ma ne pa ri su ta vo wa ya ze lo fe bi".split()
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip
EXCHANGES = [
    ("Frankfurt", "DAX", "euros"), ("Paris", "CAC 40", "euros"), ("London", "FTSE 100", "pence"),
    ("Tokyo", "Nikkei", "yen"), ("New York", "S&P 500", "dollars"), ("Milan", "FTSE MIB", "euros"),
    ("Madrid", "IBEX 35", "euros"), ("Zurich", "SMI", "Swiss francs"),
]  # fmt: skip
COMMODITIES = [
    ("Copper", "tonne"), ("Gold", "ounce"), ("Brent crude", "barrel"), ("Wheat", "bushel"),
    ("Coffee", "pound"), ("Aluminium", "tonne"), ("Silver", "ounce"), ("Natural gas", "megawatt hour"),
]  # fmt: skip
LEAGUES = ["Premier League", "Bundesliga", "Serie A", "La Liga", "Ligue 1", "Eredivisie"]
TOURNAMENTS = ["Madrid Open", "Italian Open", "Queen's Club Championships", "Miami Open"]
ROUNDS = ["first round", "second round", "third round", "quarter-finals", "semi-finals"]
REGIONS = ["the north", "the south-west", "the coast", "the eastern provinces", "the highlands"]
SEGMENTS = ["cloud services", "consumer electronics", "its retail business", "emerging markets"]
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"]
COMPANY_SUFFIXES = ["Group", "Holdings", "AG", "Corp", "Industries", "Technologies", "SE", "plc"]
TEAM_SUFFIXES = ["FC", "United", "City", "Rovers", "Athletic", "Wanderers"]
COLOURS = ["yellow", "orange", "red"]

# Each template: (family, headline, sentences). Slots are filled by `slot_values`.
TEMPLATES = [
    (
        "market",
        "{company} shares {rise} {pct}% in {city}",
        [
            "Shares of {company} {rose} {pct}% to {price} {currency} in {city} trading on {day}, "
            "after the company reported {ordinal} quarter results.",
            "The {index} index {rose2} {pct2}% to {points} points by the close.",
            "{company} said operating profit came in at {amount} million {currency}, compared "
            "with {amount2} million {currency} a year earlier.",
            "Analysts polled by the news agency had expected {amount3} million {currency}.",
            "The stock has {gained} {pct3}% since the start of the year.",
        ],
    ),
    (
        "market",
        "{commodity} {rises} to {price} dollars",
        [
            "{commodity} prices {rose} {pct}% to {price} dollars per {unit} on {day}, the "
            "{ordinal} straight session of {gains}.",
            "Traders said demand from {place} and a {weaker} dollar {moved} the market.",
            "{commodity} for delivery in {month} was last quoted at {price2} dollars in {city}.",
            "Trading volumes were {volume_word}, with {volume} contracts changing hands.",
        ],
    ),
    (
        "sports",
        "{team} beat {team2} {score}-{score2}",
        [
            "{team} beat {team2} {score}-{score2} in the {league} on {day}, with {person} "
            "scoring twice.",
            "{person2} had put {team2} ahead in the {minute}th minute before {person} equalised "
            "just before half-time.",
            "The win lifts {team} to {ordinal} place in the table with {points2} points from "
            "{games} games.",
            "{team2} remain {ordinal2} after a {streak}-match run without a win.",
            "{person3}, the {team} coach, said he was proud of the way his players responded.",
        ],
    ),
    (
        "sports",
        "{person} reaches the {round} in {tournament_city}",
        [
            "{person} beat {person2} {set1}, {set2}, {set3} in the {round} of the {tournament} "
            "on {day}.",
            "The {ordinal}-seeded player served {aces} aces and broke serve {breaks} times in a "
            "match that lasted {hours} hours and {minutes} minutes.",
            "{person} will face {person3} in the next round on {day2}.",
        ],
    ),
    (
        "weather",
        "{colour} warning for {region} as winds reach {speed} km/h",
        [
            "The national weather service issued a {colour} warning for {region} on {day}, with "
            "winds of up to {speed} kilometres per hour expected.",
            "Rainfall of {mm} millimetres is forecast in {city} and {city2} over the next {hours2} "
            "hours.",
            "Temperatures will fall to {temp} degrees overnight before rising to {temp2} degrees "
            "on {day2}.",
            "Residents of {city} were advised to avoid unnecessary travel and to secure loose "
            "objects.",
        ],
    ),
    (
        "weather",
        "{city} records {temp3} degrees",
        [
            "Temperatures in {city} reached {temp3} degrees Celsius on {day}, the highest for "
            "{month} since {year}.",
            "The weather service said the heatwave would last until {day2}, with highs of "
            "{temp4} degrees in {region}.",
            "Authorities in {city2} opened {count} cooling centres and urged older people to stay "
            "indoors during the hottest hours of the day.",
        ],
    ),
    (
        "earnings",
        "{company} {ordinal} quarter profit {rises} to {amount} million dollars",
        [
            "{company} on {day} reported {ordinal} quarter net profit of {amount} million dollars, "
            "or {cents} cents per share, {up} from {amount2} million dollars a year earlier.",
            "Revenue {rose} {pct}% to {billions} billion dollars, {beating} analysts' average "
            "estimate of {billions2} billion dollars.",
            "The company {raised} its full-year forecast and now expects revenue of between "
            "{low} and {high} billion dollars.",
            "Chief executive {person} said the results reflected strong demand in {segment}.",
            "Shares of {company} were {up2} {pct2}% in extended trading.",
        ],
    ),
    (
        "earnings",
        "{company} posts {ordinal} quarter {loss_or_profit}",
        [
            "{company} said on {day} it swung to a {ordinal} quarter {loss_or_profit} of "
            "{amount} million euros as sales in {place} {rose} {pct}%.",
            "The {city}-based company, which employs about {employees} people, kept its outlook "
            "for the year unchanged.",
            "Finance chief {person} told analysts on a conference call that cost cuts of "
            "{amount3} million euros were on track.",
        ],
    ),
]
FAMILIES = sorted({family for family, _, _ in TEMPLATES})


def made_up_name(rng: random.Random, parts: int = 2) -> str:
    """A made-up proper name of `parts` capitalised words."""
    words = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))) for _ in range(parts)]
    return " ".join(word.capitalize() for word in words)


def slot_values(rng: random.Random) -> dict[str, str]:
    """Fresh names, numbers and dates for every slot any template uses."""
    city, index, currency = rng.choice(EXCHANGES)
    commodity, unit = rng.choice(COMMODITIES)
    up = rng.random() < 0.5
    values = {
        "company": f"{made_up_name(rng, 1)} {rng.choice(COMPANY_SUFFIXES)}",
        "team": f"{made_up_name(rng, 1)} {rng.choice(TEAM_SUFFIXES)}",
        "team2": f"{made_up_name(rng, 1)} {rng.choice(TEAM_SUFFIXES)}",
        "person": made_up_name(rng),
        "person2": made_up_name(rng),
        "person3": made_up_name(rng),
        "place": made_up_name(rng, 1),
        "city": city,
        "city2": made_up_name(rng, 1),
        "tournament_city": made_up_name(rng, 1),
        "index": index,
        "currency": currency,
        "commodity": commodity,
        "unit": unit,
        "league": rng.choice(LEAGUES),
        "tournament": rng.choice(TOURNAMENTS),
        "round": rng.choice(ROUNDS),
        "region": rng.choice(REGIONS),
        "segment": rng.choice(SEGMENTS),
        "colour": rng.choice(COLOURS),
        "ordinal": rng.choice(ORDINALS[:4]),
        "ordinal2": rng.choice(ORDINALS),
        "day": rng.choice(DAYS),
        "day2": rng.choice(DAYS),
        "month": rng.choice(MONTHS),
        "year": str(rng.randint(1950, 2019)),
        "rise": "rise" if up else "fall",
        "rises": "rises" if up else "falls",
        "rose": "rose" if up else "fell",
        "rose2": rng.choice(["rose", "fell"]),
        "gained": rng.choice(["gained", "lost"]),
        "gains": "gains" if up else "losses",
        "weaker": rng.choice(["weaker", "stronger"]),
        "moved": rng.choice(["supported", "weighed on"]),
        "volume_word": rng.choice(["thin", "heavy", "average"]),
        "up": "up" if up else "down",
        "up2": rng.choice(["up", "down"]),
        "beating": rng.choice(["beating", "missing"]),
        "raised": rng.choice(["raised", "cut"]),
        "loss_or_profit": rng.choice(["loss", "profit"]),
        "pct": f"{rng.uniform(0.1, 9.9):.1f}",
        "pct2": f"{rng.uniform(0.1, 3.0):.1f}",
        "pct3": f"{rng.uniform(0.5, 40):.1f}",
        "price": f"{rng.uniform(5, 900):.2f}",
        "price2": f"{rng.uniform(5, 900):.2f}",
        "points": f"{rng.randint(3000, 40000):,}",
        "amount": str(rng.randint(12, 4800)),
        "amount2": str(rng.randint(12, 4800)),
        "amount3": str(rng.randint(12, 4800)),
        "volume": f"{rng.randint(2000, 900000):,}",
        "score": str(rng.randint(1, 5)),
        "score2": str(rng.randint(0, 4)),
        "minute": str(rng.randint(4, 44)),
        "points2": str(rng.randint(3, 80)),
        "games": str(rng.randint(3, 34)),
        "streak": str(rng.randint(3, 12)),
        "set1": f"{rng.choice([6, 7])}-{rng.randint(0, 5)}",
        "set2": f"{rng.randint(0, 5)}-{rng.choice([6, 7])}",
        "set3": f"{rng.choice([6, 7])}-{rng.randint(0, 5)}",
        "aces": str(rng.randint(2, 30)),
        "breaks": str(rng.randint(1, 8)),
        "hours": str(rng.randint(1, 4)),
        "hours2": str(rng.choice([12, 24, 36, 48, 72])),
        "minutes": str(rng.randint(1, 59)),
        "speed": str(rng.randint(60, 180)),
        "mm": str(rng.randint(20, 250)),
        "temp": str(rng.randint(-12, 15)),
        "temp2": str(rng.randint(5, 30)),
        "temp3": str(rng.randint(33, 47)),
        "temp4": str(rng.randint(30, 45)),
        "count": str(rng.randint(3, 200)),
        "cents": str(rng.randint(2, 480)),
        "billions": f"{rng.uniform(0.5, 90):.2f}",
        "billions2": f"{rng.uniform(0.5, 90):.2f}",
        "low": f"{rng.uniform(1, 40):.1f}",
        "high": f"{rng.uniform(41, 95):.1f}",
        "employees": f"{rng.randint(400, 90000):,}",
    }
    return values


def templated_story(rng: random.Random) -> dict:
    """A distinct story from a random template: its family, template number, headline and
    sentences, every slot freshly filled."""
    number = rng.randrange(len(TEMPLATES))
    family, headline, sentences = TEMPLATES[number]
    values = slot_values(rng)
    return {
        "family": family,
        "template": number,
        "title": capitalised(headline.format(**values)),
        "sentences": [capitalised(sentence.format(**values)) for sentence in sentences],
    }


def capitalised(text: str) -> str:
    return text[0].upper() + text[1:]
