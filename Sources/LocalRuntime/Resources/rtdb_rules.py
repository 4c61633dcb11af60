"""Read rules of the Realtime Database, evaluated as Firebase evaluates them, for the subset of the rules language
that tfctl's rules use: `.read` at a path or any of its ancestors grants it (rules cascade down and never take
back), `$variables` bind path segments, and an expression that fails (a member of null, a method of a non-string)
is false. Expressions: `true`, `false`, `null`, strings, numbers, `auth`, `now` (milliseconds), `$variables`,
members (`a.b`), `contains`, `beginsWith` and `endsWith` on strings, `+`, `===`, `!==`, `==`, `!=`, `<`, `<=`, `>`,
`>=` (numbers), `!`, `&&`, `||` and parentheses. Anything
else is refused when the rules are loaded, so the stand-in never guesses what a rule means.
(https://firebase.google.com/docs/reference/security/database)"""
import re
import time

TOKEN = re.compile(r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")|(?P<number>\d+(?:\.\d+)?)"
                   r"|(?P<op>===|!==|==|!=|<=|>=|&&|\|\||[!().+<>])|(?P<name>\$?[A-Za-z_][A-Za-z0-9_]*))")
ORDERINGS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}
STRING_METHODS = {"contains": lambda s, x: x in s, "beginsWith": lambda s, x: s.startswith(x),
                  "endsWith": lambda s, x: s.endswith(x)}


class RuleError(Exception):
    """A rule the stand-in does not understand: refused when the rules are loaded."""


class Failed(Exception):
    """An expression that fails while it is evaluated: the rule is false, as in Firebase."""


def tokens(source):
    position, out = 0, []
    while position < len(source):
        if source[position:].strip() == "":
            break
        match = TOKEN.match(source, position)
        if not match:
            raise RuleError(f"cannot read the rule at {source[position:]!r}")
        position = match.end()
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "string":
            text = text[1:-1].encode().decode("unicode_escape")
        elif kind == "number":
            text = float(text) if "." in text else int(text)
        out.append((kind, text))
    return out


class Parser:
    """Recursive descent over the tokens into nested tuples; evaluation walks them."""

    def __init__(self, source):
        self.items, self.at = tokens(source), 0

    def peek(self):
        return self.items[self.at] if self.at < len(self.items) else (None, None)

    def take(self, text=None):
        kind, value = self.peek()
        if kind is None or (text is not None and value != text):
            raise RuleError(f"expected {text or 'more'} in the rule")
        self.at += 1
        return kind, value

    def parse(self):
        tree = self.disjunction()
        if self.peek()[0] is not None:
            raise RuleError(f"unexpected {self.peek()[1]!r} in the rule")
        return tree

    def chain(self, operator, node, operand):
        """`operand (operator operand)*`, left to right, as (node, left, right)."""
        tree = operand()
        while self.peek() == ("op", operator):
            self.take()
            tree = (node, tree, operand())
        return tree

    def disjunction(self):
        return self.chain("||", "or", self.conjunction)

    def conjunction(self):
        return self.chain("&&", "and", self.unary)

    def unary(self):
        if self.peek() == ("op", "!"):
            self.take()
            return ("not", self.unary())
        return self.comparison()

    def comparison(self):
        tree = self.sum()
        if self.peek()[0] == "op" and self.peek()[1] in ("===", "!==", "==", "!=", *ORDERINGS):
            _, operator = self.take()
            tree = (operator, tree, self.sum())
        return tree

    def sum(self):
        return self.chain("+", "+", self.postfix)

    def postfix(self):
        tree = self.primary()
        while self.peek() == ("op", "."):
            self.take()
            kind, name = self.take()
            if kind != "name":
                raise RuleError("a member name must follow '.'")
            if self.peek() == ("op", "("):
                if name not in STRING_METHODS:
                    raise RuleError(f"the stand-in does not evaluate the method {name}()")
                self.take()
                argument = self.disjunction()
                self.take(")")
                tree = ("call", name, tree, argument)
            else:
                tree = ("member", tree, name)
        return tree

    def primary(self):
        kind, value = self.take()
        if kind in ("string", "number"):
            return ("literal", value)
        if kind == "op" and value == "(":
            tree = self.disjunction()
            self.take(")")
            return tree
        if kind == "name":
            if value in ("true", "false", "null"):
                return ("literal", {"true": True, "false": False, "null": None}[value])
            if value in ("auth", "now") or value.startswith("$"):
                return ("variable", value)
        raise RuleError(f"the stand-in does not evaluate {value!r} in a rule")


def evaluate(tree, scope):
    kind = tree[0]
    if kind == "literal":
        return tree[1]
    if kind == "variable":
        if tree[1] not in scope:
            raise Failed()
        return scope[tree[1]]
    if kind == "member":
        value = evaluate(tree[1], scope)
        if not isinstance(value, dict):
            raise Failed()
        return value.get(tree[2])
    if kind == "call":
        subject, argument = evaluate(tree[2], scope), evaluate(tree[3], scope)
        if not isinstance(subject, str) or not isinstance(argument, str):
            raise Failed()
        return STRING_METHODS[tree[1]](subject, argument)
    if kind == "+":
        left, right = evaluate(tree[1], scope), evaluate(tree[2], scope)
        if isinstance(left, str) or isinstance(right, str):
            if left is None or right is None:
                raise Failed()
            return str(left) + str(right)
        raise Failed()
    if kind == "not":
        return evaluate(tree[1], scope) is not True
    if kind in ("and", "or"):
        left = evaluate(tree[1], scope) is True
        if kind == "and" and not left:
            return False
        if kind == "or" and left:
            return True
        return evaluate(tree[2], scope) is True
    left, right = evaluate(tree[1], scope), evaluate(tree[2], scope)
    if kind in ORDERINGS:
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
            raise Failed()
        return ORDERINGS[kind](left, right)
    equal = left == right and type(left) is type(right)
    return equal if kind in ("===", "==") else not equal


class Rules:
    """A rules document (`{"rules": {...}}`) with every `.read` parsed; `may_read(keys, auth)` answers a read."""

    def __init__(self, document):
        if not isinstance(document, dict) or not isinstance(document.get("rules"), dict):
            raise RuleError("a rules document is {\"rules\": {...}}")
        self.root = self._compile(document["rules"])

    def _compile(self, node):
        compiled = {"read": None, "children": {}}
        for key, value in node.items():
            if key == ".read":
                compiled["read"] = ("literal", value) if isinstance(value, bool) else Parser(value).parse()
            elif key.startswith("."):
                continue  # .write, .validate, .indexOn: the stand-in serves reads only to clients
            elif isinstance(value, dict):
                compiled["children"][key] = self._compile(value)
        return compiled

    def may_read(self, keys, auth, now=None):
        """Whether `auth` (None, or {"uid", "token"}) may read the path `keys` at `now` (milliseconds): some
        `.read` on the way down to it is true."""
        node, scope = self.root, {"auth": auth, "now": int(now if now is not None else time.time() * 1000)}
        for depth in range(len(keys) + 1):
            if node["read"] is not None:
                try:
                    if evaluate(node["read"], scope) is True:
                        return True
                except Failed:
                    pass
            if depth == len(keys):
                return False
            key = keys[depth]
            if key in node["children"]:
                node = node["children"][key]
            else:
                variable = next((name for name in node["children"] if name.startswith("$")), None)
                if variable is None:
                    return False
                scope[variable] = key
                node = node["children"][variable]
        return False
