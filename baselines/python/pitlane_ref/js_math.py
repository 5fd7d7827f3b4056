"""JavaScript's ``Math.log10``, bit for bit, so that the reference's audio events print the same numbers as
pitlane's. V8 computes it with fdlibm's algorithms, not the C library's: glibc's ``log10`` (Python's
``math.log10``) differs from V8 in the last bit for about 0.7 % of inputs and numpy's for about 4 % (measured on
2 million values), which shows in a JSON number's 17th digit. fdlibm's, restated here:

* ``log10(x)``: write x = 2^n · m with m in [1, 2) (m in [1/2, 1) with n + 1 when n < 0), then
  ``n·log10_2_lo + log(m)/ln(10) + n·log10_2_hi``, log10(2) split in two for extra precision;
* ``log(m)``: m = 2^k · (1 + f) with 1 + f in about [sqrt(2)/2, sqrt(2)); log(1 + f) = f - f²/2 + s·(f²/2 + R)
  with s = f / (2 + f) and R the degree-14 minimax polynomial in s (its two halves summed separately), or a short
  series when |f| < 2^-20, plus k·ln(2) with ln(2) split in two.

This was checked against Node's ``Math.log10`` on 2 million values spread over 10^-7..1 (all identical).
"""

from __future__ import annotations

import struct

_D = struct.Struct("<d")
_Q = struct.Struct("<Q")

_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN10 = 4.34294481903251816668e-01
_LOG10_2_HI = 3.01029995663611771306e-01
_LOG10_2_LO = 3.69423907715893078616e-13
_LG1, _LG2, _LG3, _LG4, _LG5, _LG6, _LG7 = (
    6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01, 2.222219843214978396e-01,
    1.818357216161805012e-01, 1.531383769920937332e-01, 1.479819860511658591e-01)
_TWO_54 = 18014398509481984.0
_NEG_INF = float("-inf")
_NAN = float("nan")


def _words(x: float) -> "tuple[int, int]":
    """(signed high 32 bits, low 32 bits) of a double."""
    bits = _Q.unpack(_D.pack(x))[0]
    high = bits >> 32
    return (high - (1 << 32) if high >= 0x80000000 else high), bits & 0xFFFFFFFF


def _double(high: int, low: int) -> float:
    return _D.unpack(_Q.pack(((high & 0xFFFFFFFF) << 32) | low))[0]


def _log(x: float) -> float:
    """fdlibm's ``__ieee754_log`` (x positive and finite, as ``js_log10`` calls it)."""
    high, low = _words(x)
    k = (high >> 20) - 1023
    high &= 0x000FFFFF
    i = (high + 0x95F64) & 0x100000
    x = _double(high | (i ^ 0x3FF00000), low)  # x or x/2, so that it lies in about [sqrt(2)/2, sqrt(2))
    k += i >> 20
    f = x - 1.0
    dk = float(k)
    if (0x000FFFFF & (2 + high)) < 3:  # |f| < 2^-20
        if f == 0.0:
            return 0.0 if k == 0 else dk * _LN2_HI + dk * _LN2_LO
        r = f * f * (0.5 - 0.33333333333333333 * f)
        return f - r if k == 0 else dk * _LN2_HI - ((r - dk * _LN2_LO) - f)
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    r = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7))) + w * (_LG2 + w * (_LG4 + w * _LG6))
    if ((high - 0x6147A) | (0x6B851 - high)) > 0:
        half_f2 = 0.5 * f * f
        if k == 0:
            return f - (half_f2 - s * (half_f2 + r))
        return dk * _LN2_HI - ((half_f2 - (s * (half_f2 + r) + dk * _LN2_LO)) - f)
    if k == 0:
        return f - s * (f - r)
    return dk * _LN2_HI - ((s * (f - r) - dk * _LN2_LO) - f)


def js_log10(x: float) -> float:
    """``Math.log10(x)`` as V8 computes it."""
    high, low = _words(x)
    k = 0
    if high < 0x00100000:
        if (high & 0x7FFFFFFF) | low == 0:
            return _NEG_INF
        if high < 0:
            return _NAN
        k = -54  # subnormal: scale up
        x *= _TWO_54
        high, low = _words(x)
    if high >= 0x7FF00000:
        return x + x
    k += (high >> 20) - 1023
    negative = 1 if k < 0 else 0
    y = float(k + negative)
    m = _double((high & 0x000FFFFF) | ((0x3FF - negative) << 20), low)
    return (y * _LOG10_2_LO + _INV_LN10 * _log(m)) + y * _LOG10_2_HI
