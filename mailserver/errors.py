from sandbox.kernel.errors import SandboxError


class MailError(SandboxError):
    """A mail operation refused, with a Vietnamese message for the person and an SMTP-style
    ``code`` for the SMTP door (e.g. 550, 552, 553)."""

    def __init__(self, message_vi: str, detail: str = "", code: int = 550):
        super().__init__(message_vi, detail)
        self.code = code
