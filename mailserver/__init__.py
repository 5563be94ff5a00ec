"""Mail: the store (accounts, folders, messages), SMTP submission, the webmail and, later,
IMAP. Other packages use ``mailserver.api`` only."""
