# Regenerates python_cases.rs: which paths Python's `re` matches with each pattern, the way the
# original applies exclusion patterns. Run with Python 3.11 (the original's):
#   python3 -W ignore python_cases.py > python_cases.rs
import re
import sys

PATHS = ["/a", "/aA", "/\u00c9", "/a#b", "/aaaaaaaaaa", "/abcd", "/abbcd", "/a3", "/a\n", "/a/b.tmp", "/a/keep.tmp", "/a/keepme.tmp", "/a/b\n", "/a/b", "/a/B.TXT", "/x{y", "/x{1}", "/a/aa", "/a/ab",
         "/a b", "/a\tb", "/a\x1cb", "/\u00e9", "/a-b", "/a]b", "/a[b", "/a&&b", "/a~b", "/a--b", "/ab/", "", "/",
         "/a\nb", "/abc", "/a1", "/a_", "/A", "/k", "/\u212a", "/\u00a0", "/a\n\n", "/a/b/c.tmp", "/aaa", "/a{2}", "/a\\b", "/a.b", "/ab"]
PATTERNS = [
 r".*\.tmp", r".*/(?!keep)[^/]*\.tmp", r"/a/b|nothing", r"nothing|/a/b|nothing2", r"nothing|/a", r".*/b", r".*/b$", r".*/b$\n",
 r".*/b\Z", r".*/b\n", r"(?i).*\.txt", r"(?i)/A", r"(?s).*", r".*", r"(?m)/a$", r"(?m)/a", r"/a$|/ab", r"(/a$|/ab)",
 r"/(.)\1", r"/a/(.)\1", r"/(?P<x>a)(?P=x)+", r"/(a)?(?(1)a|b)", r"/(?P<n>a)?(?(n)bc|x)", r"/a{,1}", r"/a{2}", r"/x\{y", r"/x{y",
 r"/x{1}", r"/x{ 1}", r"/a{,}", r"/a{1,}b", r"/a{0}b?", r"/a++", r"/a*+a", r"/a?+", r"/(?>a+)a", r"/a*?", r"/a??b",
 r"/a\sb", r"/a\Sb", r"/a[\s]b", r"/a[^\S]b", r"/a\wb?", r"/\w", r"(?a)/\w", r"(?a)/[\w]", r"(?a)/a\sb", r"/a[\d]", r"/a\d",
 r"/[[:alpha:]]", r"/a[]]b", r"/a[^]]b", r"/a[a-]b", r"/a[-]b", r"/a[&&]+b", r"/a[~]b", r"/a[a~~b]b", r"/a[\]]b", r"/a[\[]b",
 r"/a[[]b", r"/a\-b", r"/a\]b", r"/a\[b", r"/a\\b", r"/a\.b", r"/a.b", r"/a\x2eb", r"/a\u002eb", r"/a\U0000002eb", r"/a\056b",
 r"/a\0", r"/a[\056]b", r"/a[\x2d]b", r"/\xe9", r"/\u00E9", r"/[\u00e0-\u00ff]", r"/\u212a", r"(?i)/k", r"(?i)/K",
 r"(?x) / a  # comment", r"(?x)/a\ b", r"(?x)/a[ ]b", r"(?x)/a b\n? # trailing", r"/a(?#comment)b", r"/a(?#c)*", r"/a(?i:B)c",
 r"/a(?i:b)", r"(?i)/a(?-i:b)", r"/(?=a)a", r"/(?!a).", r"/a(?<=a)", r"/a(?<!b)b", r"/(?<=/)ab", r"/a\b", r"/a\Bb",
 r"/a\b.*", r"(?a)/a\b.*", r"^/a", r"^/a$", r"^/a$$", r"/a|^/ab$", r"/a$|/b$", r"/a(?:b|c)", r"/a(b|c)*", r"/(a|)b",
 r"/(a*)*", r"/()*a", r"/(?:)*a", r"/(?=a)*a", r"/a{2}?", r"/a{1,2}?b", r"/a\Z|/b", r"\A/a", r"/a\n", r"/a\n\n",
 r"(?m)/a$\n", r"(?m)/a\n^", r"(?s)/a.b", r"/a.b", r"/a[^b]b", r"/[^a]", r"/\D", r"/\W", r"", r"|", r"/a|", r"|/a",
 r"(?i)(?s)/A.B", r"(?ims)/a", r"(?u)/\w", r"(?ia)/K", r"/a\u00a0?", r"/\u00a0", r"/\s", r"/[\w-]", r"/[-\w]",
 r"(?x)/a  [b c]  ", r"(?x)  (?i)  /A", r"/(?P<n1>a)(?P<n2>b)?(?P=n1)", r"/a(?P<x>b)(?(x)c|d)", r"/\$", r"/\^", r"/a\|b",
 r"/(?:a|b|c)+", r"(?i)/(a)\1", r"/(?i:(a)\1)", r"(?ai)/[a-z]", r"(?ai)/[^a-z]", r"(?ai)/[K]", r"(?ai)/\u00e9", r"(?i)/\u00c9",
 r"(?ai)/[\u00e0-\u00ff]", r"(?ai)/A[\w]?", r"/a(?=a){2}", r"/a(?=b)*?b", r"/a(?=b)?+b", r"/a(?!b)+b", r"/(?:(?=a))*a", r"/a(?:)+",
 r"/(?:(?=a)|)*a", r"/(a)?(?(1)a|b)*", r"/(a)(?<=\1)", r"(?x)/a[#]b", r"(?x)/a\#b", r"(?x)/a # c\n b", r"/a\Z\n?", r"/a(?:\n)?\Z",
 r"/(?:a+)++", r"/(?>a|ab)b", r"/(.)(.)(.)(.)(.)(.)(.)(.)(.)(.)\10", r"(?m)^/a$\n^$", r"(?m)/a\n$", r"/[\n]?", r"/a[$]", r"/a$[b]?",
 r"(?s)/a\n.", r"/\w+", r"/\d", r"/[\d\s]", r"/[^\d\s]+", r"/(?P<q>a)(?:x|(?P=q))", r"/a*?$", r"/a(?=\n)", r"/a\b\n",
 r"(?i)/[a-c]+", r"(?i)/\u212a", r"/(a|ab)(c|bcd)(d*)", r"/a{1,3}?b", r"/(?i:A)(?-i:a)?", r"(/)(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)\12", r"/(a)\1?",
]
def compile_like_original(p):
    """The original's regular expression for `p`: `"^" + p + "$"`, or, for leading global
    flags that Python 3.11 refuses after the `^`, the flags moved in front (cback's reading)."""
    try:
        return re.compile("^" + p + "$")
    except re.error as e:
        if "global flags" not in str(e):
            raise
        m = re.match(r"^((?:\(\?[aiLmsux]+\)|\s+)+)", p)
        flags = "".join(sorted(set("".join(re.findall(r"\(\?([aiLmsux]+)\)", m.group(1))))))
        # In verbose mode a line feed ends a trailing comment, which would swallow the `$`.
        return re.compile("(?" + flags + ")^" + p[m.end():] + ("\n$" if "x" in flags else "$"))

out = []
for p in PATTERNS:
    try:
        r = compile_like_original(p)
    except re.error as e:
        print("SKIP", repr(p), e, file=sys.stderr); continue
    out.append((p, "".join("1" if r.match(s) else "0" for s in PATHS)))
def rstr(s):
    r = []
    for ch in s:
        if ch == '\\': r.append('\\\\')
        elif ch == '"': r.append('\\"')
        elif ch == '\n': r.append('\\n')
        elif ch == '\t': r.append('\\t')
        elif 32 <= ord(ch) < 127: r.append(ch)
        else: r.append('\\u{%x}' % ord(ch))
    return '"' + ''.join(r) + '"'
print("// Generated with Python 3.11's re: re.compile('^' + pattern + '$').match(path), with leading")
print("// global flags moved before the '^' (see the module documentation).")
print("pub(super) const PATHS: &[&str] = &[")
for s in PATHS: print("    %s," % rstr(s))
print("];\n")
print("/// (pattern, one '1' per path of PATHS that the original excludes)")
print("pub(super) const CASES: &[(&str, &str)] = &[")
for p, bits in out: print("    (%s, \"%s\")," % (rstr(p), bits))
print("];")
