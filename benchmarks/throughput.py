"""Throughput and memory of `stance predict` against a naive transformers pipeline.

Each measurement runs in its own process (so peak memory is its own), on the same inputs:
  * `transformers.pipeline("text-classification")` over a model folder with its default settings,
    given the already-segmented passages (so it is spared the segmentation cost): the naive
    reference, once per model;
  * our predictor end to end (reading, segmentation, holder attribution, tokenisation,
    length-sorted dynamic batches, the decision rule, writing) with the model alone, the small
    model alone (`--small`), and the cascade when the model folder has one (`stance cascade`).
Two input sets: the sample articles repeated, and real news (`../shared/realnews/` articles
repeated, when present), because a cascade's speed depends on how many passages take a stance.
It prints passages/s, the ratio against the naive pipeline of the same model, labels agreeing
with the model alone, and peak RSS. `--backends` compares torch, onnx and onnx-int8;
`--memory N` scores N and N/10 short articles to show that peak memory does not grow.

    python benchmarks/throughput.py --model models/default/model-best --small models/minilm/model-best
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "annotations" / "sources"
REALNEWS = REPO.parent / "shared" / "realnews" / "articles.jsonl"


def realnews_documents(min_passages: int) -> list[dict]:
    """The real news articles (text only, no labels), repeated under distinct ids."""
    sys.path.insert(0, str(REPO))
    from pipeline.segmentation import split_sentences

    articles = [json.loads(line) for line in REALNEWS.read_text(encoding="utf-8").splitlines()]
    per_round = sum(len(split_sentences(a["text"])) for a in articles)
    rounds = -(-min_passages // per_round)
    return [
        {"id": f"{a['id']}-{r}", "text": a["text"], "date": a.get("date") or "2021-01-01"}
        for r in range(rounds)
        for a in articles
    ]


def sample_documents(min_passages: int) -> list[dict]:
    """The sample articles, repeated under distinct ids until they hold `min_passages`."""
    sys.path.insert(0, str(REPO))
    from pipeline.segmentation import split_sentences

    articles = [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(SOURCES.glob("*.txt"))]
    per_round = sum(len(split_sentences(text)) for _, text in articles)
    rounds = -(-min_passages // per_round)
    return [
        {"id": f"{stem}-{r}", "text": text, "date": "2021-01-01"}
        for r in range(rounds)
        for stem, text in articles
    ]


def short_documents(n: int) -> list[dict]:
    sentences = [
        "The rebels said on Monday they were ready for talks without preconditions.",
        "The government ruled out negotiations until the attacks stop.",
        "Heavy rain closed the border crossing for a second day.",
    ]
    return [
        {
            "id": f"short-{i}",
            "text": f"{sentences[i % 3]} {sentences[(i + 1) % 3]}",
            "date": f"20{10 + i % 15}-0{1 + i % 9}-01",
        }
        for i in range(n)
    ]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(model: str, inputs: str, workdir: str, backend: str, cascade: bool = True) -> dict:
    """`stance predict` on `inputs`; with `cascade=False` a cascade folder's large model alone
    (its copy without `screen/`), so both are timed through the same code."""
    sys.path.insert(0, str(REPO))
    import shutil

    import pyarrow.parquet as pq

    from pipeline.cascade import SCREEN_DIR, load_classifier
    from pipeline.config import PredictConfig
    from pipeline.inference import predict

    if not cascade and (Path(model) / SCREEN_DIR).is_dir():
        alone = Path(workdir) / "model-alone"
        if not alone.is_dir():
            shutil.copytree(model, alone, ignore=shutil.ignore_patterns(SCREEN_DIR, "onnx"))
            meta = json.loads((alone / "meta.json").read_text(encoding="utf-8"))
            meta.pop("cascade", None)
            (alone / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        model = str(alone)
    load_classifier(model, device="cpu", backend=backend)  # export/quantize outside timing
    options = PredictConfig(actors=str(REPO / "configs/actors.yaml"), backend=backend)
    output = Path(workdir) / f"out-{backend}-{os.getpid()}.parquet"
    start = time.perf_counter()
    manifest = predict(
        model, [inputs], output, options, device="cpu", progress=False, overwrite=True
    )
    seconds = time.perf_counter() - start
    return {
        "rescored": (manifest["model"].get("cascade") or {}).get("passages_rescored"),
        "passages": manifest["counts"]["passages"],
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "labels": pq.read_table(output, columns=["label"])["label"].to_pylist(),
    }


def run_naive(model: str, inputs: str) -> dict:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import pipeline

    from pipeline.segmentation import split_sentences

    texts = []
    for line in open(inputs, encoding="utf-8"):
        text = json.loads(line)["text"]
        texts.extend(text[s.start : s.end] for s in split_sentences(text))
    classify = pipeline("text-classification", model=model, device="cpu")
    start = time.perf_counter()
    results = classify(texts)
    seconds = time.perf_counter() - start
    assert len(results) == len(texts)
    return {"passages": len(texts), "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def count_tokens(model: str, inputs: str) -> int:
    from transformers import AutoTokenizer

    from pipeline.segmentation import split_sentences

    tokenizer = AutoTokenizer.from_pretrained(model)
    texts = []
    for line in open(inputs, encoding="utf-8"):
        text = json.loads(line)["text"]
        texts.extend(text[s.start : s.end] for s in split_sentences(text))
    return sum(len(ids) for ids in tokenizer(texts, truncation=True, max_length=128)["input_ids"])


def in_child(*args: str) -> dict:
    """Run this script's worker mode in a fresh process; return its JSON result."""
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_jsonl(rows: list[dict], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO / "models/default/model-best"))
    parser.add_argument("--small", help="a small model folder to time alone (e.g. MiniLM)")
    parser.add_argument("--backend", default="auto", help="backend of our predictor")
    parser.add_argument(
        "--backends", action="store_true", help="also compare torch, onnx and onnx-int8"
    )
    parser.add_argument("--passages", type=int, default=20000)
    parser.add_argument(
        "--memory",
        type=int,
        default=0,
        metavar="N",
        help="also measure peak memory on N and N/10 short articles",
    )
    parser.add_argument(
        "--memory-only", action="store_true", help="skip the throughput comparison (with --memory)"
    )
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, inputs, workdir = args.worker
        if kind == "naive":
            result = run_naive(args.model, inputs)
        else:  # "<backend>" or "<backend>:alone"
            backend, _, alone = kind.partition(":")
            result = run_ours(args.model, inputs, workdir, backend=backend, cascade=not alone)
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as workdir:
        if not args.memory_only:
            compare_models(args, workdir)
            if args.backends:
                compare_throughput(args, workdir)
        if args.memory:
            measure_memory(args, workdir)


def compare_models(args: argparse.Namespace, workdir: str) -> None:
    """Naive pipelines, the model alone, the small model alone and the cascade, per input set."""
    has_cascade = "cascade" in json.loads(
        (Path(args.model) / "meta.json").read_text(encoding="utf-8")
    )
    sets = {"sample articles": sample_documents(args.passages)}
    if REALNEWS.is_file():
        sets["real news"] = realnews_documents(args.passages)
    print(f"{os.cpu_count()} CPU threads; backend {args.backend}; times exclude model loading")
    for name, documents in sets.items():
        inputs = Path(workdir) / f"{name.replace(' ', '-')}.jsonl"
        write_jsonl(documents, inputs)
        naive = {
            "model": in_child("--model", args.model, "--worker", "naive", str(inputs), workdir)
        }
        rows = {
            "model alone": in_child(
                "--model", args.model, "--worker", f"{args.backend}:alone", str(inputs), workdir
            )
        }
        if args.small:
            naive["small"] = in_child(
                "--model", args.small, "--worker", "naive", str(inputs), workdir
            )
            rows["small model alone"] = in_child(
                "--model", args.small, "--worker", args.backend, str(inputs), workdir
            )
        if has_cascade:
            rows["cascade"] = in_child(
                "--model", args.model, "--worker", args.backend, str(inputs), workdir
            )
        print(f"\n{name}: {rows['model alone']['passages']} passages")
        for which, result in naive.items():
            rate = result["passages"] / result["seconds"]
            print(
                f"  {'naive pipeline, ' + which:<28} {rate:8.1f} passages/s  "
                f"peak RSS {result['peak_rss_mb']:6.0f} MB"
            )
        reference = rows["model alone"]["labels"]
        naive_model = naive["model"]["passages"] / naive["model"]["seconds"]
        for which, result in rows.items():
            rate = result["passages"] / result["seconds"]
            against = naive["small"] if which == "small model alone" else naive["model"]
            ratio = rate / (against["passages"] / against["seconds"])
            agree = sum(a == b for a, b in zip(result["labels"], reference, strict=True))
            extra = (
                f"  {result['rescored'] / result['passages']:.0%} re-scored"
                if result.get("rescored") is not None
                else ""
            )
            print(
                f"  {which:<28} {rate:8.1f} passages/s  peak RSS {result['peak_rss_mb']:6.0f} MB"
                f"  {ratio:5.2f}x its naive pipeline  {rate / naive_model:5.2f}x the model's"
                f"  labels = model alone {agree / len(reference):.1%}{extra}"
            )


def compare_throughput(args: argparse.Namespace, workdir: str) -> None:
    """Ours (three backends) and the naive pipeline on the same repeated sample articles."""
    inputs = Path(workdir) / "articles.jsonl"
    write_jsonl(sample_documents(args.passages), inputs)
    tokens = count_tokens(args.model, str(inputs))
    naive = in_child("--model", args.model, "--worker", "naive", str(inputs), workdir)
    runs = {
        backend: in_child("--model", args.model, "--worker", backend, str(inputs), workdir)
        for backend in ("torch", "onnx", "onnx-int8")
    }
    naive_rate = naive["passages"] / naive["seconds"]
    print(
        f"inputs: {naive['passages']} passages, {tokens} tokens (sample articles "
        f"repeated); {os.cpu_count()} CPU threads; times include model loading"
    )
    print(
        f"{'naive pipeline':<26} {naive_rate:8.1f} passages/s "
        f"{tokens / naive['seconds']:9.0f} tokens/s  peak RSS {naive['peak_rss_mb']:.0f} MB"
    )
    for backend, result in runs.items():
        rate = result["passages"] / result["seconds"]
        agree = sum(
            a == b for a, b in zip(result["labels"], runs["torch"]["labels"], strict=True)
        ) / len(result["labels"])
        print(
            f"{'stance predict ' + backend:<26} {rate:8.1f} passages/s "
            f"{tokens / result['seconds']:9.0f} tokens/s  peak RSS "
            f"{result['peak_rss_mb']:.0f} MB  ratio {rate / naive_rate:.2f}x  "
            f"labels = torch: {agree:.2%}"
        )


def measure_memory(args: argparse.Namespace, workdir: str) -> None:
    """Peak memory for N/10 and N short articles: flat if reading and writing stream."""
    for n in (args.memory // 10, args.memory):
        path = Path(workdir) / f"short-{n}.jsonl"
        write_jsonl(short_documents(n), path)
        result = in_child("--model", args.model, "--worker", "onnx", str(path), workdir)
        print(
            f"memory: {n:>7} articles, {result['passages']:>7} passages: peak RSS "
            f"{result['peak_rss_mb']:.0f} MB ({result['passages'] / result['seconds']:.0f}"
            " passages/s)"
        )


if __name__ == "__main__":
    main()
