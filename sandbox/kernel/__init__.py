"""The ground floor: settings, database engine and sessions, clock, blob store, the action log
and its dispatcher, the sandbox rows, errors, passwords, the login throttle, Vietnamese
formats and what a blueprint needs from the app (``webkit``).

The kernel imports no other package of ours, not even the rest of ``sandbox``;
``tests/test_architecture.py`` keeps it so."""
