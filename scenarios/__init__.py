"""Exam sets and drills as YAML files, and the worlds they build.

``yamlsrc`` (bounded YAML with line numbers), ``schema`` (the pydantic model of a scenario),
``validate`` (every problem as file:line in Vietnamese), ``variants`` (a candidate's values
drawn from the seed), ``templates`` (``{name.attr}`` placeholders), ``library`` (the shipped
files in ``library/``), ``build`` (a sandbox built from a scenario through the tools' public
actions; ``world_docflow``, ``build_helpers``), ``models`` (the scenario instance of a
sandbox), ``state_digest`` (its part of the replay digest); the NPC rules."""
