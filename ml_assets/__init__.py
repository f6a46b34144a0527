"""Pure model code: it takes DataFrames and returns DataFrames; it never opens a connection.

churn            generic churn trainer: calibrated gradient boosting, baselines, drivers, artefact bytes
health           client health score from weighted factors (weights in health_weights.toml)
anomalies        spikes, drops and level shifts in any timestamped series, with attribution
anomaly_eval     the rolling z-score baseline and precision/recall against labelled incidents
forecast         monthly forecast per series with an interval, backtested against seasonal naive
recommendations  money-ranked actions with plain-language reasons
cli              `pulseops ml ...` on CSV files
"""
