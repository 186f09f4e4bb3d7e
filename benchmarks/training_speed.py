"""Training-step speed of each base model on this machine: fp32 against bf16 autocast.

Times the same fine-tuning steps (forward, backward, AdamW) on real annotation texts with dynamic
padding, batch 16, in one run, so the ratio is measured under the same load:

    python benchmarks/training_speed.py [--models all-MiniLM-L6-v2 all-mpnet-base-v2] [--steps 12]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def time_steps(base_model: str, texts: list[str], steps: int, bf16: bool, seed: int = 13) -> float:
    """Examples per second over `steps` optimizer steps (after one warm-up step)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from pipeline.base_models import resolve_base_model

    torch.manual_seed(seed)
    path = resolve_base_model(base_model).path
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=4, use_safetensors=True, local_files_only=True
    )
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    rng = np.random.default_rng(seed)
    batch_size = 16
    timed, examples = 0.0, 0
    for step in range(steps + 1):
        batch = [texts[i] for i in rng.integers(0, len(texts), batch_size)]
        features = tokenizer(
            batch, truncation=True, max_length=128, padding=True, return_tensors="pt"
        )
        labels = torch.as_tensor(rng.integers(0, 4, batch_size))
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(**features).logits
        loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step:  # the first step pays for allocation and kernel selection
            timed += time.perf_counter() - start
            examples += batch_size
    return examples / timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["all-MiniLM-L6-v2", "all-mpnet-base-v2"])
    parser.add_argument("--steps", type=int, default=12)
    args = parser.parse_args()

    from pipeline.annotations import load_statements

    texts = [s.text for s in load_statements(["annotations/"])]
    print(f"{len(texts)} annotation texts, batch 16, dynamic padding, max_length 128")
    print("| base model | fp32 examples/s | bf16 autocast examples/s | bf16 / fp32 |")
    print("|---|---|---|---|")
    for name in args.models:
        fp32 = time_steps(name, texts, args.steps, bf16=False)
        bf16 = time_steps(name, texts, args.steps, bf16=True)
        print(f"| {name} | {fp32:.1f} | {bf16:.1f} | {bf16 / fp32:.2f}x |")


if __name__ == "__main__":
    main()
