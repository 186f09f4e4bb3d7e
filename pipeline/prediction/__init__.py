"""Batch scoring (`stance predict`), in three layers.

- `rows`: the row contract. Document fields, the passage row, the passage/article/actor schemas,
  the files a run writes beside OUT, and the one reader of those files.
- `run`: one predict run. Identity and fingerprint, resume and the complete check, the classifier
  and options from the config, shards, the merge and the one manifest. Every engine runs here.
- `local`, `ray_data`: engines. They only turn shards of documents into scored passage rows.

The package is not called `predict`: `pipeline.predict` is the public function (see
`pipeline/__init__.py`), and a subpackage of the same name would shadow it. Nothing is imported
here, so `pipeline.scoring` can import the row contract without a cycle.
"""
