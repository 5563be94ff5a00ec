"""Our IMAP4rev1 server (RFC 3501 plus LITERAL+, UIDPLUS, MOVE, IDLE, SPECIAL-USE, NAMESPACE,
ID, UNSELECT, CHILDREN), on asyncio over the mail store. See ``server.py``."""
