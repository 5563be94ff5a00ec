"""Drill classes: a trainer runs exam sets and drills in practice mode with feedback at once.

``models`` (classes, trainees, slots, resets), ``api`` (the logic), ``web`` (/luyen-tap and
/quan-tri/luyen-tap, with its templates), ``cli`` (`sandbox training …`)."""
