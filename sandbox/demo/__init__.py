"""What `make demo` builds: ``world`` (a city department's tools with mail waiting) and
``contest`` (a 2024-style contest with units, candidates, a shift and admin logins)."""
