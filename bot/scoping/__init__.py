"""Scope: a CSV in, a scoping report out (data quality, baselines, learning curve, effort, quote).

Modules, in the order a job runs them:
  load      bytes -> text columns under limits (magic bytes, gzip cap over all members, encoding,
            delimiter, preamble, header width, malformed rows), pyarrow's CSV reader
  convert   text columns -> typed columns (numbers, numbers as text, dates, categories)
  profile   column kinds, missingness, cardinality, duplicate rows
  target    which column to predict and which task; refusals that say why
  checks    warnings a person can act on, leakage scan
  features  the model matrix, the validation splitter, samples
  baselines models under a time budget; curve (learning curve); estimate (hours, quote)
  plot      the PNG chart; render (`scope_markdown`); report (orchestration -> the JSON dict)
  worker    ScopeRunner: one fresh process per job from a warm forkserver (job, _worker_env)

Importing this package is cheap: the heavy modules are imported by the worker only.
"""
