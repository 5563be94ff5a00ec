"""Replay of a candidate's session and its timeline.

``api`` re-applies a sandbox's action log to a fresh copy step by step and compares ids,
state digests and the report; ``timeline`` turns a log into the examiner's steps; ``web`` is
/quan-tri/phat-lai; ``cli`` is `sandbox replay` and `sandbox log`."""
