"""One error family. Every message says what went wrong and what a person can do about it."""


class StudyHubError(Exception):
    """Base class: an expected failure with a message meant for a person, not a traceback."""


class IngestError(StudyHubError):
    """A file could not be turned into a document (unreadable, empty, too large, corrupt...)."""

    def __init__(self, path: object, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class MetadataError(StudyHubError):
    """Metadata given for a document is invalid (unknown level, malformed date...)."""


class NotFoundError(StudyHubError):
    """A document or passage id that does not exist."""


class PermissionDenied(StudyHubError):
    """The signed-in user may see this thing but not do this to it (editing another member's note...)."""


class NotSignedIn(StudyHubError):
    """The request needs a signed-in user."""


class PasswordChangeRequired(PermissionDenied):
    """Signed in with a one-time password: nothing but replacing it (and signing out) until it is replaced."""
