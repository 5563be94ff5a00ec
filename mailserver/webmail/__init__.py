"""The webmail: folders, message list, reading, composing, drafts. Mounted at ``/mail``.

Reads go through ``MailView`` (scoped to the logged-in account), changes through the action
dispatcher, so the webmail sees and does exactly what the IMAP and SMTP doors do."""
from mailserver.webmail import common, views_compose, views_list, views_read  # noqa: F401  (register the routes)
from mailserver.webmail.blueprint import bp

__all__ = ["bp"]
