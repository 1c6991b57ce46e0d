"""Pure analyses of a meter's 1 s data: supply-voltage quality (EN 50160) and appliances / standby.

Nothing here reads a clock, a socket or a database: time and data are passed in. The gateway feeds the
incremental aggregators (`VoltageAggregator`, `StepDetector`, `PowerWindows`) telegram by telegram and
stores what they close; the reports (`weekly_compliance`, `appliance_report`) run over what was stored.
"""
