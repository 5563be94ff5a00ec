"""Contest operations (issue 7): organiser (contest, roster, shifts, provisioning, slips,
attendance), candidate portal (theory part, server countdown, resume), examiner (live room
view, grading, results, the official report). See docs/contest.md."""
