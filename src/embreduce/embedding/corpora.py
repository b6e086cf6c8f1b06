"""Built-in corpora: the most frequent English words."""

from __future__ import annotations

from embreduce.exceptions import InputError


def top_words(n: int, *, lang: str = "en") -> list[str]:
    """Return the ``n`` most frequent words of a language, from the ``wordfreq`` package.

    Parameters
    ----------
    n : int
        How many words; the reference workload uses 512.
    lang : str
        A language code that wordfreq knows.

    Examples
    --------
    >>> top_words(3)
    ['the', 'to', 'and']
    """
    from wordfreq import top_n_list

    if n < 1:
        raise InputError(f"--words must be at least 1, got {n}")
    words = top_n_list(lang, n)
    if len(words) < n:
        raise InputError(f"wordfreq knows only {len(words)} words for '{lang}', asked for {n}")
    return words
