#!/usr/bin/env python3
"""units.py — an example external tool for toolformer: converts quantities between units.

    toolformer tool --tool "Units=python3 examples/tools/units.py" Units "5 km to miles"
    -> 3.11 miles

The protocol (see README, "External tools"): toolformer starts this program once and writes one
JSON object per line to its stdin, {"tool": "Units", "input": "5 km to miles"}; the program answers
each with one line on stdout, {"result": "3.11 miles"} or {"error": "why"}. It must flush after
every reply and should exit when stdin ends. Anything it prints to stderr goes to toolformer's
stderr. Only the Python standard library is used.
"""
import json
import re
import sys

# factor to the base unit of each dimension
LENGTH = {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0, "in": 0.0254, "inch": 0.0254,
          "inches": 0.0254, "ft": 0.3048, "foot": 0.3048, "feet": 0.3048, "yd": 0.9144,
          "yard": 0.9144, "yards": 0.9144, "mi": 1609.344, "mile": 1609.344, "miles": 1609.344,
          "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0, "kilometers": 1000.0,
          "kilometres": 1000.0}
MASS = {"mg": 1e-6, "g": 0.001, "kg": 1.0, "t": 1000.0, "oz": 0.028349523125,
        "ounces": 0.028349523125, "lb": 0.45359237, "lbs": 0.45359237, "pound": 0.45359237,
        "pounds": 0.45359237, "kilograms": 1.0, "grams": 0.001}
VOLUME = {"ml": 0.001, "l": 1.0, "liter": 1.0, "liters": 1.0, "litre": 1.0, "litres": 1.0,
          "gal": 3.785411784, "gallon": 3.785411784, "gallons": 3.785411784,
          "cup": 0.2365882365, "cups": 0.2365882365}
TEMPERATURE = {"c": "C", "celsius": "C", "f": "F", "fahrenheit": "F", "k": "K", "kelvin": "K"}

QUERY = re.compile(r"^\s*(-?[0-9][0-9,]*(?:\.[0-9]+)?)\s*([A-Za-z°]+)\s+(?:to|in)\s+([A-Za-z°]+)\s*$")


def to_kelvin(v, u):
    return v + 273.15 if u == "C" else (v - 32) * 5 / 9 + 273.15 if u == "F" else v


def from_kelvin(v, u):
    return v - 273.15 if u == "C" else (v - 273.15) * 9 / 5 + 32 if u == "F" else v


def convert(text):
    m = QUERY.match(text)
    if not m:
        raise ValueError("expected 'NUMBER UNIT to UNIT', e.g. '5 km to miles'")
    value = float(m.group(1).replace(",", ""))
    src, dst = m.group(2).lower().lstrip("°"), m.group(3).lower().lstrip("°")
    for table in (LENGTH, MASS, VOLUME):
        if src in table and dst in table:
            out = value * table[src] / table[dst]
            break
    else:
        if src in TEMPERATURE and dst in TEMPERATURE:
            out = from_kelvin(to_kelvin(value, TEMPERATURE[src]), TEMPERATURE[dst])
        else:
            raise ValueError(f"cannot convert '{m.group(2)}' to '{m.group(3)}'")
    return f"{out:.2f}".rstrip("0").rstrip(".") + " " + m.group(3)


def main():
    for line in sys.stdin:
        try:
            request = json.loads(line)
            reply = {"result": convert(str(request.get("input", "")))}
        except (ValueError, AttributeError) as e:  # bad JSON, bad query
            reply = {"error": str(e)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
