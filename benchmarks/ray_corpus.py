"""A sharded corpus of instruction samples with known near-duplicates, for batch engines (issue 13).

    .venv/bin/python benchmarks/ray_corpus.py --out DIR --n 200000 --shards 8 --seed 0

Writes, deterministically for a seed:

* ``DIR/shards/shard-00000.jsonl`` … : ``{"id", "instruction", "input", "output"}`` per line (the
  Alpaca shape ``curator filter`` reads). Feed order is the shards sorted by name, then line order.
* ``DIR/truth.jsonl``: one line per sample, in feed order: ``{"id", "kind", "source", "jaccard"}``.
  ``kind`` is ``original`` (a real record), ``stitched`` (an original made by joining the instruction
  of one real record with the outputs of two others), ``exact`` (a verbatim copy) or ``near`` (a
  perturbed copy, :mod:`benchmarks.perturb`); ``source`` is the id of the original a copy was made
  from (null for originals) and ``jaccard`` the exact word 3-gram Jaccard to it.
* ``DIR/pairs.jsonl``: every pair of samples, copies or not, whose exact Jaccard is at least
  ``--threshold`` (0.8): ``[i, j, jaccard]`` by feed position, i < j. This is the ground truth that
  ``dedup_benchmark.py`` uses (an exact all-pairs join, ``perturb.similar_pairs``), so it also holds
  copies of one original among themselves and originals that happen to duplicate each other.
* ``DIR/meta.json``: the settings and counts (duplicate fractions included).

Originals: the 5,000 Alpaca records and the 252 self-instruct user-oriented tasks (first instance),
then *stitched* originals until ``n × (1 - copy_fraction)``: the instruction and input of one record,
the outputs of two others joined by a blank line. Stitches are chosen so that they do not duplicate
each other or the records they come from: each unordered pair of outputs is used once, both outputs
have at least 20 words and neither is more than twice the other, and the instruction and input are at
most half the two outputs. Two stitches sharing an output then have Jaccard at most about 0.5.

Copies: ``n × copy_fraction`` samples, each from an original drawn uniformly at random; a share
(``--exact-fraction``, 0.1) are verbatim, the rest get ``edit_count`` edits at up to 9% of their words,
on the output and, for 30% of copies, the instruction (``perturb_record``, as dedup_benchmark.py does).
Every original goes to a random shard and each copy to a random *other* shard than its original's,
and every shard is shuffled, so a copy is often read before its original.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.perturb import (  # noqa: E402
    edit_count,
    jaccard_of_sets,
    operators,
    perturb_record,
    shingles,
    similar_pairs,
    vocabulary_from,
)

DATA_DIR = ROOT.parent / "shared" / "data"
ALPACA = DATA_DIR / "alpaca_5000.json"
SELF_INSTRUCT = DATA_DIR / "self_instruct_user_oriented.jsonl"
MAX_EDIT_RATE = 0.09  # as dedup_benchmark.MAX_EDIT_RATE: about half the near copies land at or above 0.8
SHINGLE_SIZE = 3
FIELDS = ("instruction", "input", "output")
FORMAT_VERSION = 1


def full_text(rec: dict[str, str]) -> str:
    """What curator's Sample.full_text gives for an Alpaca record (non-empty fields joined by newlines)."""
    return "\n".join(rec[f] for f in FIELDS if rec.get(f))


def real_records(alpaca: Path = ALPACA, self_instruct: Path = SELF_INSTRUCT) -> list[dict[str, str]]:
    """The Alpaca records, then the self-instruct tasks (instruction + first instance), as Alpaca dicts."""
    records = [{f: r.get(f, "") for f in FIELDS} for r in json.loads(alpaca.read_text())]
    with self_instruct.open() as f:
        for line in f:
            task = json.loads(line)
            inst = task["instances"][0]
            records.append(
                {"instruction": task["instruction"], "input": inst.get("input", ""), "output": inst["output"]}
            )
    return records


def stitched_records(
    records: Sequence[dict[str, str]], count: int, rng: random.Random
) -> list[dict[str, str]]:
    """``count`` new originals: one record's instruction and input, two other records' outputs."""
    lengths = [len(r["output"].split()) for r in records]
    heads = [len((r["instruction"] + " " + r["input"]).split()) for r in records]
    pool = [i for i, n in enumerate(lengths) if n >= 20]
    used: set[tuple[int, int]] = set()
    out: list[dict[str, str]] = []
    attempts = 0
    while len(out) < count:
        attempts += 1
        if attempts > 50 * count + 10_000:
            raise RuntimeError(f"could only stitch {len(out)} of {count} originals")
        b, c = rng.sample(pool, 2)
        key = (min(b, c), max(b, c))
        if key in used or max(lengths[b], lengths[c]) > 2 * min(lengths[b], lengths[c]):
            continue
        a = rng.randrange(len(records))
        if a in key or 2 * heads[a] > lengths[b] + lengths[c]:
            continue
        used.add(key)
        head = records[a]
        out.append(
            {
                "instruction": head["instruction"],
                "input": head["input"],
                "output": records[b]["output"] + "\n\n" + records[c]["output"],
            }
        )
    return out


def build(
    n: int,
    shards: int,
    seed: int,
    copy_fraction: float = 0.5,
    exact_fraction: float = 0.1,
    max_edit_rate: float = MAX_EDIT_RATE,
) -> tuple[list[list[dict[str, Any]]], dict[str, Any]]:
    """The shards (lists of records, each with its truth fields under ``_kind``/``_src``) and counts."""
    rng = random.Random(f"ray_corpus:{seed}")
    real = real_records()
    n_originals = max(1, round(n * (1.0 - copy_fraction)))
    n_copies = n - n_originals
    if n_originals <= len(real):
        picked = sorted(rng.sample(range(len(real)), n_originals))
        originals = [(real[i], "original") for i in picked]
    else:
        extra = stitched_records(real, n_originals - len(real), rng)
        originals = [(r, "original") for r in real] + [(r, "stitched") for r in extra]
    ops = operators(vocabulary_from(full_text(r) for r in real))
    items: list[dict[str, Any]] = []  # {rec, kind, src (index into originals or None), shard}
    for rec, kind in originals:
        items.append({"rec": rec, "kind": kind, "src": None, "shard": rng.randrange(shards)})
    applied: dict[str, int] = {}
    for _ in range(n_copies):
        src = rng.randrange(n_originals)
        rec = originals[src][0]
        if rng.random() < exact_fraction:
            copy, kind = dict(rec), "exact"
        else:
            n_words = len(full_text(rec).split())
            copy, names = perturb_record(rec, rng, edit_count(n_words, rng, max_edit_rate), ops)
            kind = "near"
            for name in names:
                applied[name] = applied.get(name, 0) + 1
        shard = items[src]["shard"]
        if shards > 1:
            shard = (shard + 1 + rng.randrange(shards - 1)) % shards  # any shard but the original's
        items.append({"rec": copy, "kind": kind, "src": src, "shard": shard})
    by_shard: list[list[int]] = [[] for _ in range(shards)]
    for k, it in enumerate(items):
        by_shard[it["shard"]].append(k)
    for lst in by_shard:
        rng.shuffle(lst)
    ids: dict[int, str] = {}
    pos = 0
    for lst in by_shard:
        for k in lst:
            ids[k] = f"s{pos:07d}"
            pos += 1
    out: list[list[dict[str, Any]]] = []
    for lst in by_shard:
        rows = []
        for k in lst:
            it = items[k]
            src = it["src"]
            rows.append(
                {
                    "id": ids[k],
                    **it["rec"],
                    "_kind": it["kind"],
                    "_src": ids[src] if src is not None else None,
                }
            )
        out.append(rows)
    info = {
        "real_originals": min(len(real), n_originals),
        "stitched_originals": max(0, n_originals - len(real)),
        "originals": n_originals,
        "copies": n_copies,
        "exact_copies": sum(1 for it in items if it["kind"] == "exact"),
        "near_copies": sum(1 for it in items if it["kind"] == "near"),
        "ops_applied": dict(sorted(applied.items())),
    }
    return out, info


def shingle_hashes(text: str) -> frozenset[int]:
    """The word 3-gram set of the NEAR_DUPLICATE check (``perturb.shingles``), each shingle as a hash."""
    return frozenset(hash(s) for s in shingles(text, SHINGLE_SIZE))


def write(
    out: Path,
    n: int,
    shards: int,
    seed: int,
    threshold: float = 0.8,
    copy_fraction: float = 0.5,
    exact_fraction: float = 0.1,
) -> dict[str, Any]:
    """Build the corpus and its ground truth under ``out``; returns meta.json's content."""
    t0 = time.perf_counter()
    shard_rows, info = build(n, shards, seed, copy_fraction, exact_fraction)
    build_s = time.perf_counter() - t0
    (out / "shards").mkdir(parents=True, exist_ok=True)
    for old in (out / "shards").glob("shard-*.jsonl"):
        old.unlink()
    rows = [r for shard in shard_rows for r in shard]
    for k, shard in enumerate(shard_rows):
        with (out / "shards" / f"shard-{k:05d}.jsonl").open("w") as f:
            for r in shard:
                f.write(json.dumps({"id": r["id"], **{f: r[f] for f in FIELDS}}) + "\n")

    t1 = time.perf_counter()
    sets = [shingle_hashes(full_text(r)) for r in rows]
    pos = {r["id"]: i for i, r in enumerate(rows)}
    with (out / "truth.jsonl").open("w") as f:
        for i, r in enumerate(rows):
            src = r["_src"]
            jac = round(jaccard_of_sets(sets[i], sets[pos[src]]), 4) if src is not None else None
            f.write(json.dumps({"id": r["id"], "kind": r["_kind"], "source": src, "jaccard": jac}) + "\n")
    pairs = similar_pairs(sets, threshold)
    with (out / "pairs.jsonl").open("w") as f:
        for (i, j), jac in sorted(pairs.items()):
            f.write(json.dumps([i, j, round(jac, 4)]) + "\n")
    truth_s = time.perf_counter() - t1

    near_jac = [
        jaccard_of_sets(sets[i], sets[pos[r["_src"]]]) for i, r in enumerate(rows) if r["_kind"] == "near"
    ]
    has_earlier = {j for i, j in pairs}
    cross = sum(
        1 for i, j in pairs if (rows[i]["_src"] or rows[i]["id"]) != (rows[j]["_src"] or rows[j]["id"])
    )
    meta = {
        "format": FORMAT_VERSION,
        "n": len(rows),
        "shards": shards,
        "seed": seed,
        "threshold": threshold,
        "shingle_size": SHINGLE_SIZE,
        "copy_fraction": round(info["copies"] / len(rows), 4),
        "exact_fraction_of_copies": exact_fraction,
        "max_edit_rate": MAX_EDIT_RATE,
        **info,
        "near_copies_at_or_above_threshold": sum(1 for j in near_jac if j >= threshold),
        # The share of samples that an ideal sequential dedup drops at most: those with an earlier
        # sample (feed order) at Jaccard >= threshold.
        "samples_with_earlier_near_duplicate": len(has_earlier),
        "duplicate_fraction": round(len(has_earlier) / len(rows), 4),
        "pairs_at_or_above_threshold": len(pairs),
        "pairs_across_families": cross,  # pairs not inside one original-and-its-copies family
        "copies_before_their_original": sum(
            1 for i, r in enumerate(rows) if r["_src"] is not None and pos[r["_src"]] > i
        ),
        "mean_words": round(sum(len(full_text(r).split()) for r in rows) / len(rows), 1),
        "build_s": round(build_s, 1),
        "ground_truth_s": round(truth_s, 1),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


# --------------------------------------------------------------------------- reading it back


def shard_files(corpus: Path) -> list[Path]:
    return sorted((corpus / "shards").glob("shard-*.jsonl"))


def iter_records(corpus: Path) -> Iterator[dict[str, str]]:
    """Every record in feed order."""
    for path in shard_files(corpus):
        with path.open() as f:
            for line in f:
                yield json.loads(line)


def load_truth(corpus: Path) -> tuple[list[dict[str, Any]], list[tuple[int, int, float]]]:
    """truth.jsonl's rows (feed order) and pairs.jsonl's ``(i, j, jaccard)``."""
    with (corpus / "truth.jsonl").open() as f:
        truth = [json.loads(line) for line in f]
    with (corpus / "pairs.jsonl").open() as f:
        pairs = [tuple(json.loads(line)) for line in f]
    return truth, pairs  # type: ignore[return-value]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=0.8, help="Jaccard of the ground-truth pairs")
    parser.add_argument("--copy-fraction", type=float, default=0.5, help="share of samples that are copies")
    parser.add_argument("--exact-fraction", type=float, default=0.1, help="share of copies that are verbatim")
    args = parser.parse_args(argv)
    meta = write(
        args.out, args.n, args.shards, args.seed, args.threshold, args.copy_fraction, args.exact_fraction
    )
    print(json.dumps(meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
