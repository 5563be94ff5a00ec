"""grader: see DESIGN.md §2 (built in a later issue)."""
