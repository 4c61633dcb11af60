"""OWASP CRS 3.3 evaluated by libmodsecurity 3 (Debian's `modsecurity-crs` and `libmodsecurity3`), the way Cloud
Armor's preconfigured WAF rules evaluate the same signatures, for replaying captured Socket.IO traffic.

Cloud Armor differs from a ModSecurity deployment in ways this module reproduces:
- No anomaly scoring: "each preconfigured WAF rule has a sensitivity level"; a request that matches one signature of
  an enabled rule set at or below the rendered sensitivity matches the rule. So every CRS rule that fires at paranoia
  level = sensitivity is a hit (the 949/959/980 scoring rules are not signatures and are ignored).
- Rule sets are CRS files: `sqli-v33-stable` is REQUEST-942, `xss-v33-stable` 941, and so on (RULE_SETS).
- The POST body: "By default, Cloud Armor considers the complete content of POST bodies as a uniform string, subject
  to the signatures in your preconfigured WAF rules" (Cloud Armor, security policy overview, JSON parsing). An
  Engine.IO polling body is text/plain, for which ModSecurity has no body processor and CRS would inspect nothing;
  so the body is handed to CRS as one argument (BODY_ARGUMENT) holding the whole body, the uniform string.
- `cve-canary` (Log4j, CVE-2021-44228) is Google's own signature set and unpublished, and CRS 3.3 has no Log4j rule
  (944150 came with CRS 4): a JNDI lookup is replayed against the CRS 3.3 sets alone, where rce-v33-stable's
  932130 (Unix shell expression `${...}`) catches it.
"""
import ctypes
import glob
import re
import urllib.parse
from dataclasses import dataclass, field

RULES_DIRECTORY = "/usr/share/modsecurity-crs/rules"
LIBRARY = "libmodsecurity.so.3"
# The argument name under which a POST body reaches CRS as one string (see the module's docstring).
BODY_ARGUMENT = "cloud_armor_post_body"

# Cloud Armor's CRS 3.3 rule sets and the CRS rule-id prefix (file) each is built from.
RULE_SETS = {
    "methodenforcement-v33-stable": "911",
    "scannerdetection-v33-stable": "913",
    "protocolattack-v33-stable": "921",
    "lfi-v33-stable": "930",
    "rfi-v33-stable": "931",
    "rce-v33-stable": "932",
    "php-v33-stable": "933",
    "nodejs-v33-stable": "934",
    "xss-v33-stable": "941",
    "sqli-v33-stable": "942",
    "sessionfixation-v33-stable": "943",
    "java-v33-stable": "944",
}


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query, as on the request line
    headers: tuple  # ((name, value), ...) in wire order
    body: bytes = b""


@dataclass(frozen=True)
class Hit:
    rule_id: str
    variable: str  # e.g. ARGS:sid, REQUEST_COOKIES:io, REQUEST_HEADERS:User-Agent

    @property
    def rule_set(self):
        return next((name for name, prefix in RULE_SETS.items() if self.rule_id.startswith(prefix)), None)

    @property
    def field(self):
        """The request field the hit is in, as Cloud Armor's field exclusions would name it: (kind, name) with kind
        header, cookie, query or uri; ("body", None) for the body, which no exclusion can name."""
        collection, _, name = self.variable.partition(":")
        if collection in ("ARGS", "ARGS_GET", "ARGS_NAMES", "ARGS_GET_NAMES") and name == BODY_ARGUMENT:
            return ("body", None)
        if collection in ("ARGS", "ARGS_GET", "ARGS_NAMES", "ARGS_GET_NAMES"):
            return ("query", name)
        if collection in ("REQUEST_COOKIES", "REQUEST_COOKIES_NAMES"):
            return ("cookie", name)
        if collection in ("REQUEST_HEADERS", "REQUEST_HEADERS_NAMES"):
            return ("header", name.lower())
        if collection in ("ARGS_POST", "ARGS_POST_NAMES", "REQUEST_BODY"):
            return ("body", None)
        return ("uri", None)


_LOG_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
_ID = re.compile(r'\[id "(\d+)"\]')
# "against variable `ARGS:x'" for an operator match; "found within ARGS:x:" in the data of a libinjection one.
_VARIABLE = re.compile(r"against variable `([^']*)'|found within ([A-Z_]+:[^:\s]*)")


class Engine:
    """libmodsecurity with CRS at one paranoia level, in detection mode, reporting every rule that matched."""

    def __init__(self, paranoia_level):
        self.lib = ctypes.CDLL(LIBRARY)
        lib = self.lib
        for name, restype in [("msc_init", ctypes.c_void_p), ("msc_create_rules_set", ctypes.c_void_p),
                              ("msc_new_transaction", ctypes.c_void_p)]:
            getattr(lib, name).restype = restype
        lib.msc_rules_add.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]
        lib.msc_rules_add_file.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p)]
        lib.msc_set_log_cb.argtypes = [ctypes.c_void_p, _LOG_CALLBACK]
        lib.msc_new_transaction.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        lib.msc_process_connection.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                               ctypes.c_int]
        lib.msc_process_uri.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]
        lib.msc_add_n_request_header.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                                 ctypes.c_char_p, ctypes.c_size_t]
        lib.msc_append_request_body.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        for name in ("msc_process_request_headers", "msc_process_request_body", "msc_transaction_cleanup"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]

        self.messages = []
        self._callback = _LOG_CALLBACK(lambda _data, message: self.messages.append(ctypes.string_at(message)
                                                                                       .decode("utf-8", "replace")))
        self.modsecurity = lib.msc_init()
        lib.msc_set_log_cb(self.modsecurity, self._callback)
        self.rules = lib.msc_create_rules_set()
        setup = "\n".join([
            "SecRuleEngine DetectionOnly",
            "SecRequestBodyAccess On",
            "SecRequestBodyLimit 13107200",
            'SecDefaultAction "phase:1,log,auditlog,pass"',
            'SecDefaultAction "phase:2,log,auditlog,pass"',
            f'SecAction "id:900000,phase:1,nolog,pass,t:none,setvar:tx.paranoia_level={paranoia_level}"',
            'SecAction "id:900990,phase:1,nolog,pass,t:none,setvar:tx.crs_setup_version=334"',
        ])
        self._add(lib.msc_rules_add, setup.encode())
        for path in sorted(glob.glob(f"{RULES_DIRECTORY}/REQUEST-9*.conf")):
            self._add(lib.msc_rules_add_file, path.encode())

    def _add(self, function, argument):
        error = ctypes.c_char_p()
        if function(self.rules, argument, ctypes.byref(error)) < 0:
            raise RuntimeError(f"ModSecurity refused {argument[:80]!r}: {error.value!r}")

    def evaluate(self, request):
        """The CRS rules `request` matches, each with the variable it matched in."""
        lib = self.lib
        self.messages = []
        transaction = lib.msc_new_transaction(self.modsecurity, self.rules, None)
        try:
            lib.msc_process_connection(transaction, b"203.0.113.7", 50000, b"10.20.0.2", 443)
            headers = list(request.headers)
            body = request.body
            if body and request.method == "POST":
                body = (BODY_ARGUMENT + "=" + urllib.parse.quote(body, safe="")).encode()
                headers = [(name, value) for name, value in headers if name.lower() not in ("content-type",
                                                                                            "content-length")]
                headers += [("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", str(len(body)))]
            lib.msc_process_uri(transaction, request.target.encode(), request.method.encode(), b"1.1")
            for name, value in headers:
                key, value = name.encode(), value.encode()
                lib.msc_add_n_request_header(transaction, key, len(key), value, len(value))
            lib.msc_process_request_headers(transaction)
            if body:
                lib.msc_append_request_body(transaction, body, len(body))
            lib.msc_process_request_body(transaction)
        finally:
            lib.msc_transaction_cleanup(transaction)
        hits = set()
        for message in self.messages:
            rule, variable = _ID.search(message), _VARIABLE.search(message)
            if rule:
                hit = Hit(rule.group(1), (variable.group(1) or variable.group(2)) if variable else "")
                if hit.rule_set:
                    hits.add(hit)
        return hits


@dataclass
class Policy:
    """The preconfigured WAF rules of a rendered Cloud Armor policy: sensitivity, rule sets, and the opted-out rule
    ids (CRS ids) per set. (tfctl renders no field exclusions: a polling body, where Socket.IO's hits are, cannot be
    excluded field by field.)"""
    sensitivity: int
    rule_sets: list
    opt_outs: dict = field(default_factory=dict)

    def excludes(self, hit):
        return hit.rule_set not in self.rule_sets or hit.rule_id in self.opt_outs.get(hit.rule_set, set())

    def blocked(self, hits):
        return {hit for hit in hits if not self.excludes(hit)}
