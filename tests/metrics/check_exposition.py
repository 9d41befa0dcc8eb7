#!/usr/bin/python3
r"""Checks asyncbatch's metrics in Prometheus' text format, read on stdin, and prints
them as JSON: {family: {"type": t, "samples": [{"name", "labels", "value"}]}}.

    asyncbatch status --format prometheus | tests/metrics/check_exposition.py

Exits 1 with a message on stderr when the text does not parse with prometheus_client
(its parser is the reference one in Python), when a family lacks its HELP or its TYPE
line or has either twice, when a family appears twice, when a sample belongs to no
declared family, when a label value has an escape other than \\, \" and \n (which
prometheus_client lets through and Prometheus refuses), or when a name does not start
with `asyncbatch_`. Families are named as in their TYPE line
(`asyncbatch_batches_total`, where prometheus_client says `asyncbatch_batches`).

Run with /usr/bin/python3 (the shebang): prometheus_client is Debian's package
python3-prometheus-client (scripts/deps.sh), which a python3 from pyenv or a venv
earlier on PATH does not see.
"""

import json
import math
import re
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError as e:
    sys.exit(
        f"check_exposition: cannot import prometheus_client ({e}): install the Debian package "
        f"python3-prometheus-client (bash scripts/deps.sh) and run this with /usr/bin/python3"
    )

PREFIX = "asyncbatch_"


def fail(message):
    print(f"check_exposition: {message}", file=sys.stderr)
    sys.exit(1)


def declared_families(text):
    """The families the HELP and TYPE lines declare, in order: [(name, type)]."""
    families = []
    seen = set()
    current = None  # [name, help lines, type lines, type]
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split(None, 3)
        if len(parts) < 3 or parts[0] != "#" or parts[1] not in ("HELP", "TYPE"):
            continue
        name = parts[2]
        if current is None or current[0] != name:
            if name in seen:
                fail(f"line {number}: family {name} appears twice")
            seen.add(name)
            current = [name, 0, 0, None]
            families.append(current)
        if parts[1] == "HELP":
            current[1] += 1
        else:
            current[2] += 1
            current[3] = parts[3].strip() if len(parts) == 4 else ""
        if current[1] > 1 or current[2] > 1:
            fail(f"line {number}: a second {parts[1]} line for {name}")
    for name, helps, types, _ in families:
        if not helps:
            fail(f"family {name} has no HELP line")
        if not types:
            fail(f"family {name} has no TYPE line")
    return [(name, typ) for name, _, _, typ in families]


QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def check_escapes(text):
    r"""Label values (the only quoted strings of a sample line) have no escapes but
    \\, \" and \n."""
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("#"):
            continue
        for quoted in QUOTED.finditer(line):
            for escaped in re.findall(r"\\(.)", quoted.group(1)):
                if escaped not in ('\\', '"', "n"):
                    fail(f"line {number}: invalid escape \\{escaped} in a label value ({line})")


def value(v):
    """A sample value for JSON, which has no infinities or NaN."""
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if math.isnan(v):
        return "NaN"
    return int(v) if v.is_integer() and abs(v) < 2**53 else v


def main():
    text = sys.stdin.read()
    try:
        parsed = list(text_string_to_metric_families(text))
    except Exception as e:  # the parser raises ValueError, IndexError, ... on bad input
        fail(f"prometheus_client cannot parse it: {type(e).__name__}: {e}")

    check_escapes(text)
    declared = declared_families(text)
    out = {}
    for i, family in enumerate(parsed):
        # A sample outside the family before it comes out as an untyped family of its own.
        expected = declared[i] if i < len(declared) else None
        names = (family.name, family.name + "_total")
        if expected is None or expected[0] not in names:
            sample = family.samples[0].name if family.samples else family.name
            fail(f"sample {sample} belongs to no HELP/TYPE-declared family")
        name, typ = expected
        if not name.startswith(PREFIX):
            fail(f"family {name} does not start with {PREFIX}")
        out[name] = {
            "type": typ,
            "samples": [
                {"name": s.name, "labels": dict(s.labels), "value": value(s.value)} for s in family.samples
            ],
        }
    if len(parsed) != len(declared):
        fail(f"{len(declared)} families declared, prometheus_client found {len(parsed)}")
    if not out:
        fail("no metrics on stdin")
    json.dump(out, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
