"""The model card (README.md) written into every model folder."""

from __future__ import annotations

from pathlib import Path

from pipeline.labels import LABEL_DEFINITIONS


def _metrics_table(metrics: dict) -> str:
    labels = list(next(iter(metrics.values()))["per_class"])
    header = (
        "| split | n | macro-F1 | accuracy | ECE | "
        + " | ".join(f"F1 {lab}" for lab in labels)
        + " |"
    )
    rule = "|" + "---|" * (5 + len(labels))
    rows = [
        f"| {name} | {m['n']} | {m['macro_f1']:.3f} | {m['accuracy']:.3f} | {m['ece']:.3f} | "
        + " | ".join(f"{m['per_class'][lab]['f1']:.3f}" for lab in labels)
        + " |"
        for name, m in metrics.items()
    ]
    return "\n".join([header, rule, *rows])


def _distillation_note(meta: dict) -> str:
    """A paragraph on the teacher, for a model trained by `stance distill` (else nothing)."""
    record = meta.get("distillation")
    if not record:
        return ""
    teacher = record.get("teacher", {})
    return (
        f"\nDistilled from the teacher model `{teacher.get('folder')}` (folder sha256 "
        f"`{str(teacher.get('sha256'))[:16]}...`): also trained on its probabilities over "
        f"{record['soft_passages']} passages of unlabelled articles (temperature "
        f"{record['temperature']}, weight {record['weight']}); see `meta.json: distillation`.\n"
    )


def write_model_card(path: str | Path, meta: dict, metrics: dict) -> None:
    """Write a model card: intended use, labels, data, metrics, limitations, provenance."""
    data = meta["data"]
    definitions = "\n".join(f"- `{label}`: {text}" for label, text in LABEL_DEFINITIONS.items())
    files = "\n".join(
        f"- `{name}` (sha256 `{digest[:16]}...`)" for name, digest in data["files"].items()
    )
    card = f"""# Stance-toward-talks classifier ({meta["config"]["run_name"]})

Fine-tuned from `{meta["base_model"]["name"]}`
(weights sha256 `{meta["base_model"]["weights_sha256"][:16]}...`) to label news passages
by the stance a party takes toward talks, negotiations or dialogue.

## Intended use
Scoring sentences or short passages of English news about armed conflicts and diplomacy, for
research and analysis of who accepts, rejects or sets conditions for talks. Outputs are
probabilities for review by people, not decisions. Load with
`StanceClassifier.load("<this folder>")`.

## Labels (column order of `predict_proba`)
{definitions}

## Data
Hand-labelled statements (seed-article sentences and team-authored news-style statements), split
by document with method `{data["split_method"]}` and seed {meta["seed"]}:
sizes {data["split_sizes"]}.
Annotation files:
{files}
{_distillation_note(meta)}
## Metrics
Probabilities are temperature-scaled on dev (T = {meta["calibration"]["temperature"]:.3f}).

{_metrics_table(metrics)}

## Limitations
- Trained on a few thousand statements, many authored by the team rather than taken from real
  reports; expect lower scores on unfamiliar outlets, conflicts and writing styles.
- English only. One label per passage: a sentence holding two stances gets the dominant one.
- The model does not identify who holds the stance; holder attribution is a separate step.
- Sentences whose stance depends on earlier context ("He refused.") are often labelled `none`.

## Provenance
Created {meta["created"]} in {meta["training"]["seconds"]} s on `{meta["training"]["device"]}`
(best epoch {meta["training"]["best_epoch"]} of {meta["training"]["epochs_run"]}).
Versions: {", ".join(f"{k} {v}" for k, v in meta["versions"].items())}.
The resolved config is `config.yaml`; everything above is also in `meta.json`.
"""
    Path(path).write_text(card, encoding="utf-8")
