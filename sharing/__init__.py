"""Energy sharing: quarter-hour allocation keys, KPIs, reports and the community hub."""
