"""The error family shared by every package: a Vietnamese message for the user and an
English detail for the developer."""


class SandboxError(Exception):
    """Base of every error a user may see.

    ``message_vi`` is shown to people (flash message, SMTP/IMAP reply text, CLI line);
    ``detail`` is for logs and developers.
    """

    status = 400

    def __init__(self, message_vi: str, detail: str = ""):
        super().__init__(detail or message_vi)
        self.message_vi = message_vi
        self.detail = detail or message_vi


class NotFound(SandboxError):
    status = 404


class Forbidden(SandboxError):
    status = 403


class RateLimited(SandboxError):
    status = 429
