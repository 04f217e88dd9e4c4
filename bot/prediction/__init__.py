"""Individual outcome predictions after triage: pain, function and work at 6 weeks, 3 and 6 months.

One job per module: ``schema`` (the cohort CSV), ``cohort`` (the synthetic generator), ``features``
(answers to model inputs), ``estimator`` (XGBoost estimators), ``metrics``, ``train`` (training,
model card, save/load), ``learning`` (training from the follow-up check-ins in the database, with
the switch-in rule), ``predict`` (one patient, with validation), ``graph`` (PNG and text
alternative) and ``forecast`` (what the conversation calls). See docs/prediction.md.
"""
