"""Appeals (phúc khảo) and re-grades: grade records, dry-run re-grades with a corrected rubric,
the appeal's review and decision, the signed appeal packet.

``models`` (grade records, re-grade runs, appeals), ``api``, ``web`` (/quan-tri/phuc-khao),
``cli`` (`sandbox regrade`, `grade-history`, `appeal …`)."""
