"""Deployment files (issue 15): ``sandbox deploy nginx`` writes the nginx configuration in front
of the web workers (``sandbox serve web --workers N``) and, when asked, the TCP streams of the
SMTP and IMAP servers. See ``docs/deployment.md``."""
