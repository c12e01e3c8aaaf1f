"""Scope: a CSV in, a scoping report out (data quality, baselines, learning curve, effort, quote).

Modules, in the order a job runs them:
  load      bytes -> text columns under limits (magic bytes, gzip cap over all members, encoding,
            delimiter, preamble, header width, malformed rows), pyarrow's CSV reader
  convert   text columns -> typed columns (numbers, numbers as text, dates, categories)
  profile   column kinds, missingness, cardinality, duplicate rows
  target    which column to predict and which task; refusals that say why
  checks    warnings a person can act on, leakage scan
  features  the model matrix, the validation splitter, samples
  frames    the project frame (tabular, forecasting, text, recommender) from the table's structure
  selection the frame's baselines under the budget: tabular/text (baselines, text: TF-IDF models),
            forecasting (forecast: backtests, naive and boosted-lag forecasts), recommender (recommend:
            biases, ALS); metrics (which way is better), curve (learning curve)
  estimate  hours by phase per frame, quote range
  plot      the PNG chart; render (`scope_markdown`); report (typed stages -> the JSON dict)
  worker    ScopeRunner: one fresh process per job from a warm forkserver (job, _worker_env)

Importing this package is cheap: the heavy modules are imported by the worker only.
"""
