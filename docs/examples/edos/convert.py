"""EDOS (Welivita, Xie & Pu, EMNLP 2021; CC BY 4.0) to reflectdiffu's conversations format.

Reads `mturk_groundtruth_labels_9k.csv` (movie-subtitle dialogue excerpts, each labelled by three MTurk workers;
the label kept is the one two of three agreed on) and keeps the excerpts whose label is one of the nine empathetic
intents and that have at least two turns. The label is taken to describe the excerpt's last turn, which becomes a
listener reply with that intent; the turns before it alternate back to the speaker, and a first turn that would
be the listener's is dropped. EDOS has no speaker's emotion for these excerpts, so the conversations have none
(`emotion` absent). Text is lightly detokenised ("isn 't" -> "isn't", "you ." -> "you."). Every tenth excerpt
(in file order) goes to test, the one after it to valid, the rest to train.

    python3 docs/examples/edos/convert.py ../shared/data/edos/mturk_groundtruth_labels_9k.csv \
        > docs/examples/edos/edos_intents.jsonl
"""

import csv
import json
import re
import sys

# EDOS label -> reflectdiffu intent (README's mapping table).
INTENTS = {
    "Agreeing": "agreeing",
    "Acknowledging": "acknowledging",
    "Encouraging": "encouraging",
    "Consoling": "consoling",
    "Sympathizing": "sympathizing",
    "Suggesting": "suggesting",
    "Questioning": "questioning",
    "Wishing": "wishing",
    "Neutral": "neutral",
}


def detokenise(text):
    text = re.sub(r"\s+(n't|'s|'re|'m|'ll|'ve|'d)\b", r"\1", text)
    text = re.sub(r"(\w)n 't\b", r"\1n't", text)
    text = re.sub(r"\s+([.,!?;:])", r"\1", text)
    return " ".join(text.split())


def main(path):
    rows = csv.DictReader(open(path, newline="", encoding="utf-8"))
    for n, row in enumerate(rows):
        label = row["Agreed emotion (2/3 vote)"]
        if label not in INTENTS:
            continue
        turns = [detokenise(t) for t in row["Dialog"].split("\n") if t.strip()]
        if len(turns) < 2:
            continue
        if len(turns) % 2 == 1:
            turns = turns[1:]
        split = "test" if n % 10 == 0 else "valid" if n % 10 == 1 else "train"
        out = []
        for i, text in enumerate(turns):
            turn = {"speaker": "speaker" if i % 2 == 0 else "listener", "text": text}
            if i == len(turns) - 1:
                turn["intent"] = INTENTS[label]
            out.append(turn)
        line = {"id": f"edos-{row['DialogID']}-{row['Index']}", "split": split, "turns": out}
        print(json.dumps(line, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1])
