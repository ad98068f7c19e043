// The CSV reader's numbers: Python's float() syntax (not JavaScript's
// Number), integer targets read exactly into int64, and clear errors for
// values an int64 column cannot hold.
import assert from "node:assert/strict";
import { csv } from "../src/data/mod.ts";
import { pyFloat } from "../src/data/py_number.ts";

// Each checked with python3 (3.11): float(s), or null where it raises ValueError.
const FLOATS: [string, number | null][] = [
  ["0x10", null],
  ["0X1F", null],
  ["0b1", null],
  ["0o7", null],
  ["0x1p3", null],
  ["1_000", 1000],
  ["1_0.5_0", 10.5],
  ["1e1_0", 1e10],
  ["1__0", null],
  ["_1", null],
  ["1_", null],
  ["1_.5", null],
  ["1._5", null],
  ["1e_5", null],
  ["", null],
  [" ", null],
  ["\t", null],
  ["inf", Infinity],
  ["-inf", -Infinity],
  ["+inf", Infinity],
  ["Infinity", Infinity],
  ["-Infinity", -Infinity],
  ["iNfInItY", Infinity],
  ["infinit", null],
  ["infinityx", null],
  ["nan", NaN],
  ["NaN", NaN],
  ["-nan", NaN],
  ["+nan", NaN],
  ["nan(1)", null],
  ["1e5", 1e5],
  ["1E5", 1e5],
  ["1.5e+3", 1500],
  ["-.5e-3", -0.0005],
  ["1.", 1],
  [".5", 0.5],
  ["+.5", 0.5],
  [".", null],
  ["e5", null],
  ["1e", null],
  ["1e+", null],
  ["  3.5 ", 3.5],
  ["\t3.5\n", 3.5],
  ["\v1\f", 1],
  ["+1", 1],
  ["-0", -0],
  ["007", 7],
  ["+-1", null],
  ["--1", null],
  ["1 2", null],
  ["1,5", null],
  ["1d5", null],
  ["1f", null],
  ["1L", null],
  ["true", null],
  ["\x1c1", null], // ASCII "white space" that float() does not strip
  ["\u00a01\u00a0", 1], // no-break space
  ["\u30001", 1],
  ["\u20281", 1],
  ["\ufeff1", null], // a BOM is not white space to Python
  ["1\u200b", null],
  ["\uff11\uff12", 12], // full-width digits
  ["\u0661\u0662", 12], // Arabic-Indic digits
  ["1.5\u0660", 1.5],
  ["\u{1d7cf}", 1], // mathematical bold digit one
  ["1e400", Infinity],
  ["-1e-400", -0],
  ["9007199254740993", 9007199254740992],
];

Deno.test("csv numbers: pyFloat reads what Python's float() reads", () => {
  for (const [s, want] of FLOATS) {
    const got = pyFloat(s);
    if (want === null) assert.equal(got, undefined, JSON.stringify(s));
    else assert.ok(Object.is(got, want), `${JSON.stringify(s)}: ${got} != ${want}`);
  }
});

Deno.test("csv numbers: pyFloat agrees with python3 on generated strings", async () => {
  const alphabet = [
    ..."0159_.eE+- \tnxbofaity\n\vNI",
    "\u00a0",
    "\u0661",
    "\u3000",
    "\x1c",
    "\ufeff",
    "\uff11",
    "\u{1d7cf}",
  ];
  let seed = 12345;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  const cases = FLOATS.map(([s]) => s);
  for (let i = 0; i < 5000; i++) {
    let s = "";
    for (let j = rand(7); j > 0; j--) s += alphabet[rand(alphabet.length)];
    cases.push(s);
  }
  const script = `import sys, json
out = []
for c in json.loads(sys.stdin.read()):
    try:
        out.append(repr(float(c)))
    except ValueError:
        out.append(None)
print(json.dumps(out))`;
  let res: Deno.CommandOutput;
  try {
    const child = new Deno.Command("python3", {
      args: ["-c", script],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(JSON.stringify(cases)));
    await w.close();
    res = await child.output();
  } catch {
    console.log("skipped: python3 is not available");
    return;
  }
  assert.ok(res.success, new TextDecoder().decode(res.stderr));
  const theirs: (string | null)[] = JSON.parse(new TextDecoder().decode(res.stdout));
  const special: Record<string, number> = { inf: Infinity, "-inf": -Infinity, nan: NaN };
  let accepted = 0;
  cases.forEach((s, i) => {
    const t = theirs[i];
    const want = t === null ? undefined : special[t] ?? Number(t);
    if (want !== undefined) accepted++;
    assert.ok(Object.is(pyFloat(s), want), `${JSON.stringify(s)}: ${pyFloat(s)}, Python ${t}`);
  });
  assert.ok(accepted > 200, `only ${accepted} generated strings are numbers`);
});

Deno.test("csv numbers: features follow float(), not Number()", () => {
  // Before: Number("0x10") read as 16.
  assert.throws(
    () => csv("a,b\n0x10,1\n2,3\n", { targetColumn: null }),
    /non-numeric value "0x10"/,
  );
  assert.throws(() => csv("a,b\n0b1,1\n", { targetColumn: null }), TypeError);
  assert.throws(() => csv("a,b\n0o7,1\n", { targetColumn: null }), TypeError);
  const ds = csv("a,b,c,d,e,f\n1_000, inf ,-nan,+1,1e5,\n-Infinity,  3.5 ,NaN,.5,1.,\t\n", {
    targetColumn: null,
  });
  const x = ds.tensors[0].toArray() as number[][];
  assert.deepEqual(x[0].slice(0, 2), [1000, Infinity]);
  assert.ok(Number.isNaN(x[0][2]));
  assert.deepEqual(x[0].slice(3, 5), [1, 1e5]);
  assert.ok(Number.isNaN(x[0][5]), "an empty field is a missing value");
  assert.deepEqual(x[1].slice(0, 2), [-Infinity, 3.5]);
  assert.deepEqual(x[1].slice(3, 5), [0.5, 1]);
  assert.ok(Number.isNaN(x[1][2]) && Number.isNaN(x[1][5]), "a blank field is a missing value");
  // Header detection: a first row of numbers in Python's syntax is data.
  assert.equal(csv("1_0,-inf,+nan\n1,2,3\n").tensors[0].shape[0], 2);
  assert.deepEqual(csv("0x10,1\n2,3\n").columns, ["0x10"]); // "0x10" is a name
});

Deno.test("csv numbers: integer targets are read exactly into int64", () => {
  const big = [
    "9007199254740993", // 2^53 + 1: a float64 rounds it to 2^53
    "-9007199254740995",
    "9223372036854775807",
    "-9223372036854775808",
    "1_000",
    " +7 ",
    "\u0661\u0662",
  ];
  const ds = csv(`x,y\n${big.map((v, i) => `${i},${v}`).join("\n")}\n`);
  const y = ds.tensors[1];
  assert.equal(y.dtype, "int64");
  assert.deepEqual([...(y.toTypedArray() as BigInt64Array)], [
    9007199254740993n,
    -9007199254740995n,
    9223372036854775807n,
    -9223372036854775808n,
    1000n,
    7n,
    12n,
  ]);
  // Anything not an integer makes the target float32, as before; NaN and
  // infinities never reach the int64 path.
  for (const v of ["nan", "inf", "-Infinity", "", "2.0", "1e3"]) {
    const t = csv(`x,y\n0,1\n1,${v}\n2,3\n`).tensors[1];
    assert.equal(t.dtype, "float32", v);
  }
});

Deno.test("csv numbers: values an int64 target cannot hold are RangeErrors naming them", () => {
  const over = "9223372036854775808"; // 2^63
  assert.throws(
    () => csv(`x,label\n0,1\n1,${over}\n`),
    (e: Error) =>
      e instanceof RangeError &&
      e.message.includes(`"${over}"`) && e.message.includes(`column "label"`) &&
      e.message.includes("row 3") && e.message.startsWith("csv:") &&
      e.message.includes("outside the int64 range"),
  );
  assert.throws(() => csv(`x,label\n0,-9223372036854775809\n`, { header: true }), RangeError);
  // Before: Number() made this Infinity, and BigInt(Infinity) threw a RangeError
  // that named neither the value, the column nor the row.
  const huge = "1" + "0".repeat(400);
  assert.throws(
    () => csv(`a,b\n0,1\n1,${huge}\n`, { targetColumn: "b" }),
    (e: Error) =>
      e instanceof RangeError && e.message.includes(`column "b", row 3`) &&
      e.message.includes(huge) && e.message.startsWith("csv:"),
  );
});
