#!/usr/bin/env python3
"""Plan-ordering compatibility vectors for cback.

Runs the original Cedar Backup 3 (an installed ``CedarBackup3`` package, used only as a black
box) on configuration documents and command lines, and prints the plan it builds in cback's
``--dry-run`` format:

    pre-hook ACTION: COMMAND
    run ACTION
    post-hook ACTION: COMMAND
    manage ACTION PEER1,PEER2

or the single word ``error`` when the document or the action list is rejected.

Usage (with the interpreter of the venv holding cedar-backup3, e.g. /tmp/cb3me/bin/python):

    plan_vectors.py plan CONFIG [--managed | --managed-only] ACTION...
        Prints the original's plan for one document and command line.

    plan_vectors.py generate [--seed N] [--count N] [--out FILE]
        Generates random documents and command lines (deterministic for a seed), runs the
        original on each and writes the vectors file read by tests/tests/plan_compat.rs.

Vectors file format (UTF-8 text, one case after another):

    === case N: KIND
    args: [--managed | --managed-only] ACTION...
    --- config
    ...the XML document, verbatim...
    --- expect
    ...expected dry-run lines, or the single line `error`...

A case ends where the next `=== case` line (or the end of the file) begins. An empty expect
block means an empty plan. Lines starting with `#` before the first case are comments.
Only outputs of the original (plan lines or the word `error`) are recorded, never its messages.
"""

import argparse
import contextlib
import io
import logging
import os
import random
import sys
import tempfile
from xml.sax.saxutils import escape

BUILTINS = ["collect", "stage", "store", "purge"]
EXCLUSIVE = ["rebuild", "validate", "initialize", "all"]
ALL_BUILTINS = ["rebuild", "validate", "initialize"] + BUILTINS
EXT_POOL = ["pg", "pg1", "pg2", "mysql", "sysinfo", "encrypt", "split", "capacity",
            "a", "b", "c", "x1", "zz", "amazons3"]
# Extension names that collide with built-in actions; used rarely.
EXT_ODD = ["collect", "stage", "store", "purge", "rebuild", "validate", "initialize", "all"]
UNKNOWN = ["bogus", "nothere", "collector", "pgx"]
BAD_NAMES = ["Collect", "PURGE", "pg-1", "st_age"]
PEER_NAMES = ["alpha", "zeta", "mid", "beta", "omega", "kappa", "delta"]
MODULE = "CedarBackup3.extend.postgresql"
FUNCTION = "executeAction"
SEED = 20240611
COUNT = 500


# ---------------------------------------------------------------------------------------------
# Running the original

REASONS = {}


def original_plan(xml_path, actions, managed_switch, managed_only_switch):
    """The original's plan as dry-run lines, or None when it raises anything.

    The kind of each failure is tallied in REASONS (for tuning the generator only)."""
    # Imported here so that `--help` works without the package.
    from CedarBackup3.config import Config
    from CedarBackup3 import cli

    local = not managed_only_switch
    managed = managed_switch or managed_only_switch
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            config = Config(xmlPath=xml_path)
            action_set = cli._ActionSet(actions, config.extensions, config.options,
                                        config.peers, managed, local)
            items = list(action_set.actionSet)
    except Exception as e:  # noqa: BLE001 - any failure is the outcome "error"
        key = "%s: %s" % (type(e).__name__, str(e)[:70])
        REASONS[key] = REASONS.get(key, 0) + 1
        return None
    lines = []
    for item in items:
        if isinstance(item, cli._ManagedActionItem):
            peers = ",".join(peer.name for peer in (item.remotePeers or []))
            lines.append("manage %s %s" % (item.name, peers))
        else:
            for hook in item.preHooks or []:
                lines.append("pre-hook %s: %s" % (item.name, hook.command))
            lines.append("run %s" % item.name)
            for hook in item.postHooks or []:
                lines.append("post-hook %s: %s" % (item.name, hook.command))
    return lines


def original_plan_text(xml_text, args):
    """Runs the original on a document given as text; args are switches then actions."""
    managed = "--managed" in args
    managed_only = "--managed-only" in args
    actions = [a for a in args if a not in ("--managed", "--managed-only")]
    fd, path = tempfile.mkstemp(suffix=".xml", prefix="cb3-plan-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(xml_text)
        return original_plan(path, actions, managed, managed_only)
    finally:
        os.unlink(path)


# ---------------------------------------------------------------------------------------------
# Generating documents

def el(name, value):
    return "<%s>%s</%s>" % (name, escape(value), name)


class Gen:
    def __init__(self, rng):
        self.r = rng

    def chance(self, p):
        return self.r.random() < p

    def hook_command(self, n):
        forms = [
            "echo hook%d" % n,
            "/bin/true",
            '/bin/sh -c "echo %d"' % n,
            "touch '/tmp/h %d'" % n,
            "logger -t cback \"step %d done\"" % n,
            "/usr/local/bin/notify%d --quiet" % n,
        ]
        return self.r.choice(forms)

    def name_list(self, names):
        """A comma-separated list, with random blanks around the names."""
        parts = []
        for n in names:
            left = self.r.choice(["", "", " "])
            right = self.r.choice(["", "", " "])
            parts.append(left + n + right)
        if parts and self.chance(0.04):
            # A stray empty entry: leading, trailing or doubled comma.
            parts.insert(self.r.randrange(len(parts) + 1), "")
        return ",".join(parts)

    # --- extensions ----------------------------------------------------------------------

    def ext_names(self):
        count = self.r.choice([0, 1, 1, 2, 2, 3, 3, 4, 5])
        names = self.r.sample(EXT_POOL, count)
        if names and self.chance(0.08):
            names[self.r.randrange(len(names))] = self.r.choice(EXT_ODD)
        return names

    def index_value(self):
        if self.chance(0.6):
            return self.r.choice([0, 1, 50, 97, 99, 100, 101, 150, 199, 200, 201, 250,
                                  299, 300, 301, 350, 399, 400, 401, 500, 1000])
        return self.r.randrange(0, 460)

    def dependency_lists(self, name, names, acyclic_rank):
        """run_before / run_after lists; with acyclic_rank, only consistent constraints."""
        pool = ALL_BUILTINS + [n for n in names if n != name]
        before, after = [], []
        for target in (before, after):
            for _ in range(self.r.choice([0, 0, 1, 1, 1, 2, 2, 3])):
                if self.chance(0.012):
                    target.append(self.r.choice(UNKNOWN))
                elif self.chance(0.01):
                    target.append(name)
                else:
                    target.append(self.r.choice(pool))
            if target and self.chance(0.05):
                target.append(target[0])  # duplicate edge
        if acyclic_rank is not None:
            me = acyclic_rank[name]
            before = [n for n in before if acyclic_rank.get(n, me + 1) > me]
            after = [n for n in after if acyclic_rank.get(n, me - 1) < me]
        return before, after

    def extensions(self, names, mode):
        if not names and not self.chance(0.05):
            return "", mode
        lines = ["  <extensions>"]
        if mode == "dependency" or (mode == "index" and self.chance(0.5)):
            lines.append("    " + el("order_mode", mode))
        acyclic_rank = None
        if mode == "dependency" and self.chance(0.7):
            # A random total order over built-ins and extensions, respecting collect < stage <
            # store < purge; constraints drawn from it cannot form a cycle.
            order = [("builtin", n) for n in ALL_BUILTINS]
            for n in names:
                order.insert(self.r.randrange(len(order) + 1), ("extension", n))
            rest = iter(BUILTINS)
            order = [(k, next(rest)) if k == "builtin" and n in BUILTINS else (k, n)
                     for k, n in order]
            acyclic_rank = {n: i for i, (_, n) in enumerate(order)}
        for name in names:
            lines.append("    <action>")
            lines.append("      " + el("name", name))
            lines.append("      " + el("module", MODULE))
            lines.append("      " + el("function", FUNCTION))
            if mode == "index" or self.chance(0.2):
                lines.append("      " + el("index", str(self.index_value())))
            if mode == "dependency" or self.chance(0.1):
                before, after = self.dependency_lists(name, names, acyclic_rank)
                if not before and not after and self.chance(0.5):
                    lines.append("      <depends/>")
                else:
                    lines.append("      <depends>")
                    if before:
                        lines.append("        " + el("run_before", self.name_list(before)))
                    if after:
                        lines.append("        " + el("run_after", self.name_list(after)))
                    lines.append("      </depends>")
            lines.append("    </action>")
        lines.append("  </extensions>")
        return "\n".join(lines), mode

    # --- options -------------------------------------------------------------------------

    def options(self, names, managed_actions, has_rsh, has_cback):
        lines = ["  <options>",
                 "    " + el("starting_day", self.r.choice(["monday", "sunday", "friday"])),
                 "    " + el("working_dir", "/var/tmp/cback-compat/work"),
                 "    " + el("backup_user", "backup"),
                 "    " + el("backup_group", "backup"),
                 "    " + el("rcp_command", "/usr/bin/scp -B")]
        if has_rsh:
            lines.append("    " + el("rsh_command", "/usr/bin/ssh"))
        if has_cback:
            lines.append("    " + el("cback_command", "/usr/bin/cback3"))
        if managed_actions:
            lines.append("    " + el("managed_actions", self.name_list(managed_actions)))
        targets = BUILTINS + names + ["rebuild", "validate", "all"] + UNKNOWN[:1]
        hook_no = 0
        for _ in range(self.r.choice([0, 0, 1, 2, 3, 4, 6])):
            hook_no += 1
            kind = self.r.choice(["pre_action_hook", "post_action_hook"])
            action = self.r.choice(targets)
            lines.append("    <%s>%s%s</%s>" % (kind, el("action", action),
                                                 el("command", self.hook_command(hook_no)),
                                                 kind))
        lines.append("  </options>")
        return "\n".join(lines)

    def managed_list(self, names):
        pool = BUILTINS + names + ["rebuild", "all"] + UNKNOWN[:2]
        chosen = [self.r.choice(pool) for _ in range(self.r.choice([1, 1, 2, 3, 4]))]
        if self.chance(0.1):
            chosen.append(chosen[0])
        return chosen

    # --- peers ---------------------------------------------------------------------------

    def peer(self, name, remote, names, options_ok):
        """One <peer>; options_ok: (options has rsh+cback, options has managed_actions)."""
        lines = ["    <peer>", "      " + el("name", name),
                 "      " + el("type", "remote" if remote else "local"),
                 "      " + el("collect_dir", "/var/tmp/cback-compat/peers/" + name)]
        if not remote:
            if self.chance(0.3):
                lines.append("      " + el("ignore_failures",
                                           self.r.choice(["none", "all", "daily", "weekly"])))
        else:
            managed = self.r.choice([None, "Y", "Y", "Y", "N", "y", "n"])
            if self.chance(0.3):
                lines.append("      " + el("backup_user", "remote" + name))
            if managed is not None:
                lines.append("      " + el("managed", managed))
            if managed in ("Y", "y"):
                rsh_cback, has_actions = options_ok
                if not rsh_cback or self.chance(0.2):
                    lines.append("      " + el("rsh_command", "/usr/bin/ssh -p 22"))
                    lines.append("      " + el("cback_command", "/usr/local/bin/cback3"))
                if not has_actions or self.chance(0.5):
                    lines.append("      " + el("managed_actions",
                                               self.name_list(self.managed_list(names))))
            elif self.chance(0.2):
                lines.append("      " + el("managed_actions",
                                           self.name_list(self.managed_list(names))))
        lines.append("    </peer>")
        return "\n".join(lines)

    def peers(self, names, options_ok):
        count = self.r.choice([0, 1, 2, 2, 3, 4, 5])
        if count == 0:
            return "", 0
        chosen = self.r.sample(PEER_NAMES, count)
        lines = ["  <peers>"]
        for name in chosen:
            lines.append(self.peer(name, self.chance(0.75), names, options_ok))
        lines.append("  </peers>")
        return "\n".join(lines), count

    def stage(self, names, options_ok, have_peers):
        if not self.chance(0.3):
            return ""
        lines = ["  <stage>", "    " + el("staging_dir", "/var/tmp/cback-compat/stage")]
        if not have_peers or self.chance(0.5):
            for name in self.r.sample(["sa", "sb", "sc"], self.r.choice([1, 2])):
                lines.append(self.peer(name, self.chance(0.5), names, options_ok))
        lines.append("  </stage>")
        return "\n".join(lines)

    # --- whole document and command line -------------------------------------------------

    def document(self):
        names = self.ext_names()
        mode = self.r.choice(["index", "index", "dependency", "dependency"])
        ext_xml, mode = self.extensions(names, mode)
        has_rsh = self.chance(0.8)
        has_cback = has_rsh and self.chance(0.9)
        options_actions = self.managed_list(names) if self.chance(0.7) else []
        opts_xml = self.options(names, options_actions, has_rsh, has_cback)
        peers_xml, npeers = self.peers(names, (has_rsh and has_cback, bool(options_actions)))
        stage_xml = self.stage(names, (has_rsh and has_cback, bool(options_actions)), npeers)
        parts = ['<?xml version="1.0"?>', "<cb_config>",
                 "  <reference>" + el("author", "plan vectors") + "</reference>"]
        for part in (ext_xml, opts_xml, peers_xml):
            if part:
                parts.append(part)
        parts.append("  <collect>" + el("collect_dir", "/var/tmp/cback-compat/collect")
                     + el("collect_mode", "daily") + el("archive_mode", "tar")
                     + el("ignore_file", ".cbignore")
                     + "<dir>" + el("abs_path", "/etc") + "</dir></collect>")
        if stage_xml:
            parts.append(stage_xml)
        parts.append("  <purge><dir>" + el("abs_path", "/var/tmp/cback-compat/collect")
                     + el("retain_days", "7") + "</dir></purge>")
        parts.append("</cb_config>")
        return "\n".join(parts) + "\n", names, mode

    def actions(self, names):
        roll = self.r.random()
        if roll < 0.06:
            return [self.r.choice(EXCLUSIVE)]
        if roll < 0.10:
            # An exclusive action combined with others, or repeated.
            x = self.r.choice(EXCLUSIVE)
            others = [self.r.choice(BUILTINS + names + [x])]
            acts = [x] + others
            self.r.shuffle(acts)
            return acts
        pool = BUILTINS + names * 2
        acts = [self.r.choice(pool) for _ in range(self.r.choice([1, 2, 3, 3, 4, 5, 6]))]
        if self.chance(0.15):
            acts.append(self.r.choice(acts))  # a repeat
        if self.chance(0.04):
            acts.insert(self.r.randrange(len(acts) + 1), self.r.choice(UNKNOWN + BAD_NAMES))
        return acts

    def switches(self):
        return self.r.choice([[], [], ["--managed"], ["--managed"], ["--managed-only"]])


INVALID_EDITS = [
    # (description, old, new): applied to a generated document to break one rule.
    ("no working_dir", "<working_dir>/var/tmp/cback-compat/work</working_dir>", ""),
    ("relative working_dir", "<working_dir>/var/tmp/", "<working_dir>var/tmp/"),
    ("bad starting_day", "<starting_day>", "<starting_day>Mon"),
    ("bad extension index", "<index>", "<index>x"),
    ("uppercase extension name", "<name>pg", "<name>Pg"),
    ("bad order_mode", "<order_mode>", "<order_mode>Z"),
    ("bad managed flag", "<managed>", "<managed>T"),
    ("bad hook action", "<action>collect</action>", "<action>Collect</action>"),
    ("no purge dir path", "<abs_path>/var/tmp/cback-compat/collect</abs_path><retain", "<retain"),
    ("malformed xml", "</cb_config>", "</cb_conf>"),
]


def fixed_cases():
    """Hand-written anchor cases (the examples of the ordering spec), before the random ones."""
    def doc(mode, actions):
        lines = ['<?xml version="1.0"?>', "<cb_config>", "  <extensions>"]
        if mode:
            lines.append("    " + el("order_mode", mode))
        for name, index, before, after in actions:
            lines.append("    <action>" + el("name", name) + el("module", MODULE)
                         + el("function", FUNCTION)
                         + (el("index", str(index)) if index is not None else "")
                         + ("" if mode != "dependency" else
                            "<depends>" + (el("run_before", before) if before else "")
                            + (el("run_after", after) if after else "") + "</depends>")
                         + "</action>")
        lines += ["  </extensions>", "  <options>",
                  "    " + el("starting_day", "monday"),
                  "    " + el("working_dir", "/var/tmp/cback-compat/work"),
                  "    " + el("backup_user", "backup"), "    " + el("backup_group", "backup"),
                  "    " + el("rcp_command", "/usr/bin/scp -B"), "  </options>",
                  "  <purge><dir>" + el("abs_path", "/var/tmp/cback-compat/collect")
                  + el("retain_days", "7") + "</dir></purge>", "</cb_config>"]
        return "\n".join(lines) + "\n"

    example = doc("dependency", [("a", None, "stage", "collect"), ("b", None, "", "")])
    sample = doc(None, [("postgresql", 97, "", "")])
    ties = doc("index", [("pg1", 50, "", ""), ("pg2", 50, "", "")])
    return [
        ("anchor: dependency example", ["collect", "a", "b"], example),
        ("anchor: dependency example", ["b", "stage", "a", "collect", "purge"], example),
        ("anchor: index 97", ["collect", "postgresql"], sample),
        ("anchor: equal indices", ["pg1", "pg2"], ties),
        ("anchor: equal indices", ["pg2", "pg1"], ties),
        ("anchor: repeated name", ["collect", "collect"], sample),
        ("anchor: all", ["all"], sample),
        ("anchor: all combined", ["all", "collect"], sample),
        ("anchor: unknown action", ["collect", "bogus"], sample),
    ]


def generate(seed, count):
    rng = random.Random(seed)
    gen = Gen(rng)
    cases = fixed_cases()
    while len(cases) < count:
        doc, names, mode = gen.document()
        kind = "%s mode, %d extension(s)" % (mode, len(names))
        if rng.random() < 0.05:
            applicable = [e for e in INVALID_EDITS if e[1] in doc]
            desc, old, new = rng.choice(applicable)
            doc = doc.replace(old, new, 1)
            kind = "invalid document: " + desc
        args = gen.switches() + gen.actions(names)
        cases.append((kind, args, doc))
    return cases


def write_vectors(cases, out):
    lines = ["# Plan-ordering vectors: expected outputs of the original Cedar Backup 3",
             "# (cedar-backup3, black box) in cback --dry-run format.",
             "# Generated by scripts/compat/plan_vectors.py; do not edit by hand.",
             ""]
    stats = {"error": 0, "empty": 0, "plan": 0}
    for i, (kind, args, doc) in enumerate(cases, 1):
        result = original_plan_text(doc, args)
        lines.append("=== case %d: %s" % (i, kind))
        lines.append("args: " + " ".join(args))
        lines.append("--- config")
        lines.extend(doc.rstrip("\n").split("\n"))
        lines.append("--- expect")
        if result is None:
            lines.append("error")
            stats["error"] += 1
        else:
            lines.extend(result)
            stats["empty" if not result else "plan"] += 1
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return stats


def main(argv):
    logging.disable(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan", help="print the original's plan for one case")
    p.add_argument("config")
    p.add_argument("--managed", action="store_true")
    p.add_argument("--managed-only", action="store_true")
    p.add_argument("actions", nargs="+")
    g = sub.add_parser("generate", help="write the vectors file")
    g.add_argument("--seed", type=int, default=SEED)
    g.add_argument("--explain", action="store_true",
                   help="tally the kinds of failures on stderr (not written to the file)")
    g.add_argument("--count", type=int, default=COUNT)
    g.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "..", "..", "tests", "data",
                                                 "plan-vectors.txt"))
    ns = parser.parse_args(argv)
    if ns.command == "plan":
        result = original_plan(ns.config, ns.actions, ns.managed, ns.managed_only)
        print("error" if result is None else "\n".join(result))
        return 0
    cases = generate(ns.seed, ns.count)
    stats = write_vectors(cases, os.path.normpath(ns.out))
    print("%d cases: %d plans, %d empty plans, %d errors -> %s"
          % (len(cases), stats["plan"], stats["empty"], stats["error"],
             os.path.normpath(ns.out)))
    if ns.explain:
        for key, n in sorted(REASONS.items(), key=lambda kv: -kv[1]):
            print("%4d %s" % (n, key), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
