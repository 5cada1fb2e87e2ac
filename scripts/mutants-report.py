"""reports/mutants.md from the shards in reports/mutants/ (see scripts/mutants).

Each missed mutant is listed with its triage note from
reports/mutants/triage.tsv (mutant, then a tab, then either the scenario
that now catches it or why it is equivalent); one without a note says so.

A mutant is named with its line and column, which move when the broker's
code does. A missed mutant with no note of its own takes the note of the
one mutant of the same file, column, function and replacement triaged at
another line, marked as carried: an `equivalent` note still holds for code that
only moved, but a `caught now` note is never carried — measured at a
commit that has that scenario and still missed, it is wrong.
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
base = root / "reports" / "mutants"
kinds = ["caught", "missed", "timeout", "unviable"]
found = {k: [] for k in kinds}
shards = sorted(p for p in base.glob("shard-*-of-*") if p.is_dir())
totals = set()
commits = {}
for s in shards:
    totals.add(s.name.rsplit("-of-", 1)[1])
    c = s / "commit"
    commits.setdefault(c.read_text().strip() if c.exists() else "unknown", []).append(
        int(s.name.split("-")[1])
    )
    for k in kinds:
        f = s / f"{k}.txt"
        if f.exists():
            found[k] += [l for l in f.read_text().splitlines() if l.strip()]
triage = {}
t = base / "triage.tsv"
if t.exists():
    for line in t.read_text().splitlines():
        if line.strip() and not line.startswith("#") and "\t" in line:
            name, note = line.split("\t", 1)
            triage[name] = note

def unplaced(mutant):
    """The mutant's name without its line: code that only moved keeps its
    column, while another operator of the same kind in the same function
    (a name otherwise alike) almost never sits at the same column."""
    return re.sub(r":\d+:(\d+):", r":\1:", mutant, count=1)


by_unplaced = {}
for name, note in triage.items():
    by_unplaced.setdefault(unplaced(name), []).append((name, note))


def note_for(mutant):
    if mutant in triage:
        return triage[mutant]
    carried = [
        (name, note)
        for name, note in by_unplaced.get(unplaced(mutant), [])
        if not note.startswith("caught now")
    ]
    if len(carried) == 1:
        name, note = carried[0]
        place = name.split(":")[1]
        kind = note.split(":", 1)[0]
        rest = note.split(":", 1)[1].strip() if ":" in note else note
        return f"{kind} (carried from line {place}, triaged at an earlier commit): {rest}"
    return "not yet triaged"


notes = {m: note_for(m) for m in found["missed"]}
n = max((int(x) for x in totals), default=0)
viable = len(found["caught"]) + len(found["missed"]) + len(found["timeout"])
caught = len(found["caught"]) + len(found["timeout"])
score = 100.0 * caught / viable if viable else 0.0
# Missed mutants the triage shows change nothing the library could see.
equivalent = sum(1 for note in notes.values() if note.startswith("equivalent"))
real = viable - equivalent
real_score = 100.0 * caught / real if real else 0.0
# Missed when measured, caught by a scenario written since (the triage
# names it): the score of the library as it is now, until the shard runs
# again.
later = sum(1 for note in notes.values() if note.startswith("caught now"))
now_score = 100.0 * (caught + later) / real if real else 0.0
out = []
out.append("# Mutation score\n")
out.append(
    "Mutants of the reference broker's core (`reference-broker/src/broker/`), each "
    "tested against the simulated library: every scenario and workload at seed 1 and a "
    "short explore of each workload (`scripts/mutants`). A mutant the library does not "
    "notice is a broker bug it would let through. Timeouts count as caught (the run "
    "never ended).\n"
)
if len(totals) > 1:
    out.append(f"**Shards run with different totals ({sorted(totals)}): the figures are not comparable.**\n")
out.append(f"Shards measured: {len(shards)} of {n}.\n")
if len(commits) > 1:
    out.append(
        "**Shards measured at different commits: the broker's lines moved between them, so "
        "their lists overlap or leave gaps and the figures are approximate.** "
        + "; ".join(
            f"`{c}`: shard{'s' if len(ks) > 1 else ''} {', '.join(map(str, sorted(ks)))}"
            for c, ks in sorted(commits.items(), key=lambda kv: min(kv[1]))
        )
        + ".\n"
    )
else:
    out.append(f"All shards measured at `{next(iter(commits), 'unknown')}`.\n")
out.append("| viable | caught | missed | of which equivalent | of which caught since | timeouts | unviable | score | score without the equivalent | with what is caught since |")
out.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
out.append(
    f"| {viable} | {len(found['caught'])} | {len(found['missed'])} | {equivalent} | {later} | "
    f"{len(found['timeout'])} | {len(found['unviable'])} | {score:.0f}% | {real_score:.0f}% | "
    f"{now_score:.0f}% |\n"
)
out.append(
    "Each shard is measured at the commit in its `commit` file; a missed mutant whose "
    "triage says `caught now` is caught by a scenario or check added after that commit (the triage "
    "says which, and whether the mutant was applied by hand), and counts in the last "
    "column only.\n"
)
out.append("## Missed mutants\n")
if not found["missed"]:
    out.append("None so far.")
for m in sorted(found["missed"]):
    out.append(f"- `{m}` — {notes[m]}")
(root / "reports" / "mutants.md").write_text("\n".join(out) + "\n")
print(f"reports/mutants.md: {viable} viable, {len(found['caught'])} caught, "
      f"{len(found['missed'])} missed, {len(found['timeout'])} timeouts ({len(shards)} of {n} shards)")
