"""satclip-pack killed with SIGKILL at several points, then continued with --resume, must leave
exactly the files of an uninterrupted pack, byte for byte; so must two parts (--part R/W, one of
them killed and resumed) followed by --merge.

usage: pack_kill_resume.py SATCLIP_PACK SATCLIP_SYNTH WORKDIR

The tiles come from tar archives written by Python's tarfile (a tar writer independent of GNU tar
and of our reader), compressed with zstd, one reader thread so the kills land mid-pack."""
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tarfile
import time

pack_bin, synth_bin, work = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
shutil.rmtree(work, ignore_errors=True)
work.mkdir(parents=True)
subprocess.run([synth_bin, "--count", "240", "--size", "128", "--seed", "7", "--out", str(work / "src")],
               check=True, stdout=subprocess.DEVNULL)
images = work / "src" / "images"
names = sorted(os.listdir(images), key=lambda n: int(n[6:-4]))
tars = work / "tars"
tars.mkdir()
for k in range(4):
    with tarfile.open(tars / f"shard-{k:05d}.tar", "w") as t:
        for name in names[k * 60:(k + 1) * 60]:
            t.add(images / name, arcname=name)

SHARDS = 8


def pack_cmd(out, *extra):
    return [pack_bin, "--index", str(work / "src" / "index.csv"), "--images", str(tars), "--out", str(out),
            "--shards", str(SHARDS), "--compression", "zstd", "--threads", "1", "--progress", "lines", *extra]


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stdout}"
    return r.stdout


def files(out):
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def kill_when(cmd, seen):
    """Starts cmd and kills it with SIGKILL as soon as seen() is true; False when it ended first."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None:
        if seen():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.0005)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed before the kill point"
    return False


ref = work / "ref"
run(pack_cmd(ref))
expected = files(ref)
assert sorted(expected) == ["manifest.json", "shard-0-of-8.h5", "shard-1-of-8.h5", "shard-2-of-8.h5",
                            "shard-3-of-8.h5", "shard-4-of-8.h5", "shard-5-of-8.h5", "shard-6-of-8.h5",
                            "shard-7-of-8.h5", "skipped.csv"], sorted(expected)


def partial(out):
    return any(p.name.endswith(".partial") for p in out.glob("*"))


points = {
    "plan written": lambda out: (out / ".pack" / "plan").exists(),
    "first shard half written": lambda out: partial(out),
    "shard 2 renamed": lambda out: (out / "shard-2-of-8.h5").exists(),
    "shard 5 recorded": lambda out: (out / ".pack" / "shard-5").exists(),
    "last shard recorded": lambda out: (out / ".pack" / "shard-7").exists(),
}
killed = 0
for i, (point, seen) in enumerate(points.items()):
    out = work / f"kill-{i}"
    if kill_when(pack_cmd(out), lambda: seen(out)):
        killed += 1
        # A second kill in the resumed run, at its first half-written shard, where there is one.
        if point == "plan written" and kill_when(pack_cmd(out, "--resume"), lambda: partial(out)):
            killed += 1
        log = run(pack_cmd(out, "--resume"))
        assert "wrote" in log, log
    got = files(out)
    assert sorted(got) == sorted(expected), f"{point}: files {sorted(got)}"
    for name, data in expected.items():
        assert got[name] == data, f"killed at '{point}', resumed: {name} differs from the uninterrupted pack"
    print(f"kill -9 at '{point}', then --resume: {len(got)} files byte-identical")
assert killed >= 4, f"only {killed} kills landed before the pack ended; the kill points were missed"

# Two parts into one folder at once, part 1 killed after its first shard and resumed, then the merge.
out = work / "parts"
part0 = subprocess.Popen(pack_cmd(out, "--part", "0/2"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
kill_when(pack_cmd(out, "--part", "1/2"), lambda: (out / ".pack" / "shard-1").exists())
assert part0.wait() == 0
early = subprocess.run([pack_bin, "--merge", str(out)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
assert early.returncode != 0 and "not packed yet" in early.stdout, early.stdout
run(pack_cmd(out, "--part", "1/2", "--resume"))
run([pack_bin, "--merge", str(out)])
got = files(out)
assert got == expected, f"parts + merge differ from one pack: {sorted(set(got) ^ set(expected))}"
print("2 parts (one killed and resumed) + --merge: byte-identical to one pack")
