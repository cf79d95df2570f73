"""The monitoring agent: system events in, counts in windows, rules that trip, alerts out.

- events.py: what a system event is, the ports it travels through, and the reporter the
  runtime tells about failed turns and refused tool calls;
- rules.py: the rules (an event kind, a count, a window) and the window counts they read;
- alerts.py: what a tripped rule does: an alert message in the project's monitoring
  conversation, a log line, and a pause of the offending agent where the project allows it;
- monitor.py: the use case that reads the system events and applies the rules;
- staleness.py: the sweep that reports mailboxes and parked turns older than their limits;
- summary.py: the daily health summary (the figures are counted here; the monitoring
  agent's model only phrases them).

The rules decide; no model is asked whether something is wrong.
"""
