"""The think-time profile of the load generator: how long a candidate reads, types and
hesitates before each click of a 60-minute exam, in seconds of exam time.

The exam (``thi-*`` set, contest of theory 60 + practical 40, 60 minutes):

==========================  ===============================================================
exam minute (about)         what the candidate does
==========================  ===============================================================
0 – 2.5                     arrives (within the synchronised window), types number and
                            password (10–30 s), reads the rules on the start page (30–90 s),
                            «Bắt đầu làm bài», opens the theory part
2.5 – 24                    theory: 30 questions, 25–45 s each; 15 % of the single-choice
                            questions are first answered wrong and corrected 5–20 s later
                            (each click is one autosave; a multiple-choice question is one
                            click per ticked option); the review page (20–60 s), «Nộp bài lý
                            thuyết» with its confirmation (10–30 s)
24 – 27                     practical part: the task sheet, read for 2–4 minutes
27 – 55                     the exam set's tasks in the order of its golden plan, each with
                            its small clicks 3–15 s apart: a mail (open the boss's mail and
                            read it 20–40 s, download the file, «Soạn thư», type 2–4 min,
                            «Gửi»); the phishing report (2024 sets, 1.5–3 min of typing);
                            the directive and routing (read the document 30–60 s, type the
                            directive and pick roles and deadlines 1.5–3 min); signing
                            (read the draft 30–60 s, certificate and PIN 15–40 s);
                            «Chuyển văn thư phát hành» (10–30 s); the release on the
                            draft's page: the page refreshes itself while the clerk works
                            (the browser follows its refresh, in wall time); a page that
                            does not is reloaded by the candidate 20–40 s later, then every
                            2 s of wall time until the clerk's decision shows; the tracking
                            page (read 20–60 s, filter) and the status mail (1.5–3 min of
                            typing)
55 – 57                     «Kết thúc bài thi» (30–90 s on the confirmation page)
==========================  ===============================================================

So the practical tasks fall in the second half of the hour, where the writes that cost the
server most (sending, routing, two signatures) happen. Each candidate draws a speed factor
(0.85–1.1) applied to every think time; a candidate whose planned time passes minute 57 of the
exam thinks no more (one second per click) so everyone finishes before the deadline. Think
times are divided by the compression factor (``--compress 10``: the hour in 6 minutes; 0: no
thinking at all). The clock is absolute: a click is due at its planned time from the
candidate's arrival, so a slow server does not slow the offered load (a late candidate skips
the thinking it has no time left for), as real candidates keep to the exam's clock.

While a candidate is on the exam's pages, the countdown bar polls ``/thi/trang-thai`` every
30 s of wall time (as ``portal.js`` does in a browser, whatever the compression)."""
from __future__ import annotations

import random

#: (low, high) think time in exam seconds before each kind of click
THINK: dict[str, tuple[float, float]] = {
    "login_form": (10, 30),          # type number and password
    "rules": (30, 90),               # read the start page, then «Bắt đầu làm bài»
    "glance": (3, 10),               # open a page from a link just seen
    "question": (35, 55),            # read a question and click an option
    "second_option": (4, 10),        # tick the next option of a multiple-choice question
    "change_mind": (5, 20),          # correct an answer just given
    "review": (30, 90),              # the review page before submitting the theory part
    "confirm": (10, 30),             # tick the confirmation box and submit
    "task_sheet": (150, 270),        # read the practical task sheet
    "click": (5, 20),                # the next small click of a task
    "read_mail": (30, 60),           # read the mail that holds the file
    "type_mail": (180, 300),         # type the task's mail
    "type_report": (120, 240),       # type the phishing / status report mail
    "read_document": (45, 90),       # read the incoming document or the draft
    "type_directive": (120, 240),    # the directive, the roles, the deadlines
    "pin": (20, 60),                 # choose the certificate, type the PIN
    "forward": (10, 30),             # «Chuyển văn thư phát hành»
    "check_release": (20, 40),       # look at the draft's status again
    "read_tracking": (30, 90),       # read the tracking page, filter it
    "finish": (30, 90),              # the end page, confirm
}
#: share of single-choice questions first answered wrong, then corrected
CHANGE_MIND = 0.15
#: a candidate's share of right theory answers is drawn in this range
RIGHT_SHARE = (0.6, 0.95)
SPEED = (0.85, 1.05)
EXAM_SECONDS = 60 * 60
#: after this exam time a candidate stops thinking (one second per click)
LAST_CALL = 57 * 60
STATUS_POLL_SECONDS = 30.0


class Pace:
    """One candidate's clock: :meth:`think` advances the planned exam time by a drawn think
    time; :meth:`due` is the wall time (loop clock) the next click is due at."""

    def __init__(self, rng: random.Random, arrival: float, compress: float):
        self.rng, self.arrival, self.compress = rng, arrival, compress
        self.speed = rng.uniform(*SPEED)
        self.exam_time = 0.0       # planned seconds of exam time since arrival

    def think(self, kind: str) -> float:
        lo, hi = THINK[kind]
        t = self.rng.uniform(lo, hi) * self.speed
        if self.exam_time + t > LAST_CALL:
            t = 1.0
        self.exam_time += t
        return t

    def due(self) -> float:
        if not self.compress:
            return self.arrival
        return self.arrival + self.exam_time / self.compress


def arrivals(n: int, window: float, rng: random.Random) -> list[float]:
    """Arrival offsets (wall seconds) of ``n`` candidates spread at random over ``window``."""
    return sorted(rng.uniform(0, window) for _ in range(n)) if window > 0 else [0.0] * n
