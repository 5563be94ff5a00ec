"""The grader: a pure function of a sandbox's state and a scenario's rubric.

``state`` (what the grader may read, through the tools' read APIs), ``checks`` (the registry
of check types by domain: mail, docflow, signing), ``intents`` (which sent mail was meant for
which task), ``engine`` (criteria, points, evidence, the canonical report), ``report`` and
``sheets`` (HTML/PDF score reports and the published rubric), ``batch`` (many sandboxes on
every core), ``regrade`` (a corrected rubric, dry run first)."""
