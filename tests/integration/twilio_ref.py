"""Twilio's request signing for the tests, written after Twilio's "Webhooks security"
documentation: the full URL Twilio requested (query string included), then every POST
parameter's name and value sorted by name, HMAC-SHA1 keyed with the auth token, base64.

When Debian's python3-twilio is installed, its RequestValidator (Twilio's official helper
library) is the reference: the tests check that the computation below agrees with it, and
ask it which URL spellings a request is valid for (it accepts a signature made with or
without the port, :443 or :80 being the defaults)."""

import base64
import hashlib
import hmac
import os
import sys
from urllib.parse import urlencode

import lkt


def _load_validator():
    try:
        from twilio.request_validator import RequestValidator
        return RequestValidator
    except ImportError:
        pass
    # Debian's package sits in the system interpreter's directory; a python3 from
    # elsewhere (a virtualenv, pyenv) does not look there
    debian = "/usr/lib/python3/dist-packages"
    if os.path.isfile(os.path.join(debian, "twilio", "request_validator.py")):
        sys.path.append(debian)
        try:
            from twilio.request_validator import RequestValidator
            return RequestValidator
        except ImportError:
            return None
        finally:
            sys.path.remove(debian)
    return None


RequestValidator = _load_validator()


def sign(url, params, token=lkt.TWILIO_TOKEN):
    """X-Twilio-Signature of a POST to url with params, as the documentation says."""
    data = url + "".join(k + params[k] for k in sorted(params))
    sig = base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()
    if RequestValidator is not None:
        lkt.check(RequestValidator(token).compute_signature(url, params) == sig,
                  "the documented computation and Twilio's helper library disagree on %r" % url)
    return sig


def valid(url, params, sig, token=lkt.TWILIO_TOKEN):
    """Whether Twilio's helper library takes sig for a request to url (None without it)."""
    if RequestValidator is None:
        return None
    return RequestValidator(token).validate(url, params, sig)


def post(port, target, params, signed_url, token=lkt.TWILIO_TOKEN, signature=None):
    """POSTs params to target (path and query, sent as they are) with the signature of
    signed_url (or the signature given)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Twilio-Signature": signature or sign(signed_url, params, token)}
    return lkt.http(port, "POST", target, urlencode(params).encode(), headers)
