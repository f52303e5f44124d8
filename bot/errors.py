"""Errors that carry a message meant for the member who caused them."""


class UserError(Exception):
    """Bad input or a refused action: the text says what was wrong and how to fix it.

    Core services raise it; the command tree and views show it ephemerally and log nothing
    alarming, because nothing went wrong with Kindred itself.
    """
