"""Checks every relative link in the project's Markdown files: the file it names exists, and an
#anchor names a heading of that file (GitHub's rule: lower case, spaces to '-', punctuation other
than '-' and '_' dropped; a repeated heading gets -1, -2, ...).

    python3 tools/check_links.py [ROOT]

Prints each broken link as FILE:LINE: TARGET (why) and exits 1 if there is one. Links to
http(s)://, mailto: and the like are not followed. Skips build/, .venv/, .git/ and runs/.
"""
import pathlib
import re
import sys

SKIP = {"build", ".venv", ".git", "runs", "node_modules"}
LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|\!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[`*_~]", lambda m: "_" if m.group(0) == "_" else "", s)
    s = re.sub(r"[^\w\- ]", "", s, flags=re.UNICODE)
    return s.replace(" ", "-")


def anchors(path):
    seen, out = {}, set()
    in_fence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if m and not in_fence:
            base = slug(m.group(2))
            n = seen.get(base, 0)
            out.add(base if n == 0 else f"{base}-{n}")
            seen[base] = n + 1
    return out


def markdown_files(root):
    for p in sorted(root.rglob("*.md")):
        if not any(part in SKIP for part in p.relative_to(root).parts):
            yield p


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    broken, count = [], 0
    cache = {}
    for md in markdown_files(root):
        in_fence = False
        for number, line in enumerate(md.read_text(encoding="utf-8").splitlines(), 1):
            if FENCE.match(line):
                in_fence = not in_fence
                continue
            if in_fence:
                continue
            line = re.sub(r"`[^`]*`", "", line)  # code spans hold no links
            for m in LINK.finditer(line):
                target = m.group(1) or m.group(2)
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                    continue
                count += 1
                path_part, _, anchor = target.partition("#")
                dest = md if not path_part else (md.parent / path_part).resolve()
                where = f"{md.relative_to(root)}:{number}: {target}"
                if not dest.exists():
                    broken.append(f"{where} (no such file)")
                elif anchor:
                    if dest.suffix != ".md":
                        broken.append(f"{where} (an anchor into a file that is not Markdown)")
                        continue
                    if dest not in cache:
                        cache[dest] = anchors(dest)
                    if anchor not in cache[dest]:
                        broken.append(f"{where} (no heading with the anchor #{anchor})")
    for b in broken:
        print(b)
    print(f"{count} relative links checked, {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
