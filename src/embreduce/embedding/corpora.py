"""Built-in corpora: the most frequent English words, and word frequencies."""

from __future__ import annotations

import numpy as np

from embreduce.exceptions import InputError
from embreduce.validation import check_int


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

    n = check_int(n, "n", low=1)
    words = top_n_list(lang, n)
    if len(words) < n:
        raise InputError(f"wordfreq knows only {len(words)} words for '{lang}', asked for {n}")
    return words


def word_frequencies(texts: list[str], *, lang: str = "en") -> np.ndarray:
    """Return each text's frequency in running text, from the ``wordfreq`` package.

    A text of several words gets wordfreq's estimate for the phrase. Texts wordfreq does
    not know (frequency 0) get the smallest frequency of the known ones, so that every
    text keeps some weight when the frequencies are used as sample weights.

    Parameters
    ----------
    texts : list of str
        Words or short phrases.
    lang : str
        A language code that wordfreq knows.

    Returns
    -------
    ndarray of shape (len(texts),)
        Positive frequencies (share of all words), float64.

    Raises
    ------
    InputError
        When wordfreq knows none of the texts.

    Examples
    --------
    >>> f = word_frequencies(["the", "cat", "qwxzvbn"])
    >>> bool(f[0] > f[1] > 0 and f[2] == f.min())
    True
    """
    from wordfreq import word_frequency

    freq = np.array([word_frequency(t, lang) for t in texts], dtype=np.float64)
    known = freq > 0
    if not known.any():
        raise InputError(f"wordfreq knows none of the {len(texts)} texts in '{lang}'")
    freq[~known] = freq[known].min()
    return freq
