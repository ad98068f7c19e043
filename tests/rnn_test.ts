/**
 * The recurrent layers, cells and zn.nn.utils.rnn against PyTorch (fixtures
 * from tests/fixtures/make_rnn_fixtures.py): PyTorch's state dict is loaded
 * with loadStateDict (which proves the parameter names), then outputs, final
 * states and the gradients of inputs, initial states and every parameter
 * are compared. Then the state-dict keys, the errors and the option checks.
 */
import * as zn from "../mod.ts";
import type { Tensor } from "../mod.ts";
import { assertMatches, decode, type TensorRec, type Tol } from "./fixture_harness.ts";
import { assert, assertEquals, assertThrows } from "./assert_helpers.ts";

const { padSequence, packPaddedSequence, padPackedSequence, packSequence, PackedSequence } =
  zn.nn.utils.rnn;

interface ModuleCase {
  name: string;
  ctor: "RNN" | "LSTM" | "GRU" | "RNNCell" | "LSTMCell" | "GRUCell";
  inputSize: number;
  hiddenSize: number;
  opts: Record<string, unknown>;
  train: boolean;
  state: Record<string, TensorRec>;
  x: TensorRec;
  h0: TensorRec | null;
  c0: TensorRec | null;
  packed: { lengths: number[]; enforceSorted: boolean; batchFirst: boolean } | null;
  out: TensorRec | null;
  hN: TensorRec;
  cN: TensorRec | null;
  gOut: TensorRec | null;
  gH: TensorRec;
  gC: TensorRec | null;
  grads: Record<string, TensorRec>;
  tol: Tol;
}

interface KeysCase {
  ctor: ModuleCase["ctor"];
  inputSize: number;
  hiddenSize: number;
  opts: Record<string, unknown>;
  keys: [string, number[]][];
}

// deno-lint-ignore no-explicit-any
type UtilCase = any;
// deno-lint-ignore no-explicit-any
const loose = (v: unknown): any => v;

const fixtures = JSON.parse(
  Deno.readTextFileSync(new URL("./fixtures/rnn.json", import.meta.url)),
) as { modules: ModuleCase[]; utils: UtilCase[]; keys: KeysCase[] };

function build(ctor: ModuleCase["ctor"], i: number, h: number, opts: object): zn.nn.Module {
  const C = zn.nn[ctor] as unknown as new (i: number, h: number, o: object) => zn.nn.Module;
  return new C(i, h, opts);
}

function runModuleCase(c: ModuleCase): void {
  const m = build(c.ctor, c.inputSize, c.hiddenSize, c.opts);
  m.loadStateDict(decode(c.state) as Record<string, Tensor>);
  m.train(c.train);
  const x = (decode(c.x) as Tensor).requiresGrad_();
  const h0 = c.h0 ? (decode(c.h0) as Tensor).requiresGrad_() : null;
  const c0 = c.c0 ? (decode(c.c0) as Tensor).requiresGrad_() : null;
  const isLstm = c.ctor === "LSTM" || c.ctor === "LSTMCell";
  const hx = h0 === null ? undefined : isLstm ? [h0, c0!] : h0;
  let out: Tensor | null = null, hN: Tensor, cN: Tensor | null = null;
  if (c.ctor.endsWith("Cell")) {
    const r = (m as unknown as { call(x: Tensor, h?: unknown): Tensor | [Tensor, Tensor] }).call(
      x,
      hx,
    );
    if (isLstm) [hN, cN] = r as [Tensor, Tensor];
    else hN = r as Tensor;
  } else {
    const p = c.packed;
    const input = p
      ? packPaddedSequence(x, p.lengths, {
        batchFirst: p.batchFirst,
        enforceSorted: p.enforceSorted,
      })
      : x;
    const r = (m as unknown as {
      call(x: Tensor | zn.nn.utils.rnn.PackedSequence, h?: unknown): [unknown, unknown];
    }).call(input, hx);
    if (p) {
      assert(r[0] instanceof PackedSequence, `${c.name}: a packed input gives a packed output`);
      const [padded, lengths] = padPackedSequence(r[0], { batchFirst: p.batchFirst });
      assertEquals(lengths.toArray(), p.lengths.map(BigInt));
      out = padded;
    } else out = r[0] as Tensor;
    if (isLstm) [hN, cN] = r[1] as [Tensor, Tensor];
    else hN = r[1] as Tensor;
  }
  if (c.out) assertMatches(out!, c.out, `${c.name}: output`, c.tol);
  assertMatches(hN, c.hN, `${c.name}: hN`, c.tol);
  if (c.cN) assertMatches(cN!, c.cN, `${c.name}: cN`, c.tol);
  let loss = hN.mul(decode(c.gH)).sum();
  if (c.gOut) loss = loss.add(out!.mul(decode(c.gOut)).sum());
  if (c.gC) loss = loss.add(cN!.mul(decode(c.gC)).sum());
  loss.backward();
  for (const [k, rec] of Object.entries(c.grads)) {
    const g = k === "x" ? x.grad : k === "h0" ? h0!.grad : k === "c0" ? c0!.grad : m.getParameter(
      k,
    ).grad;
    if (!g) throw new Error(`${c.name}: no gradient for ${k}`);
    assertMatches(g, rec, `${c.name}: grad of ${k}`, c.tol);
  }
  const keys = Object.keys(m.stateDict());
  assertEquals(keys, Object.keys(c.state), `${c.name}: state dict keys`);
}

for (const c of fixtures.modules) {
  Deno.test(`rnn fixtures: ${c.name} matches PyTorch`, () => runModuleCase(c));
}

// ---------------------------------------------------------------- utilities

function runUtil(c: UtilCase): void {
  const T = (r: TensorRec) => decode(r) as Tensor;
  switch (c.fn) {
    case "padSequence": {
      const seqs = (c.seqs as TensorRec[]).map((r) => T(r).requiresGrad_());
      const out = padSequence(seqs, c.opts);
      assertMatches(out, c.out, `${c.name}: output`);
      out.mul(T(c.gOut)).sum().backward();
      seqs.forEach((s, i) => assertMatches(s.grad!, c.grads[i], `${c.name}: grad ${i}`));
      return;
    }
    case "pack": {
      const x = T(c.x).requiresGrad_();
      const p = packPaddedSequence(x, c.lengths, c.opts);
      checkPacked(p, c);
      const [padded, lengths] = padPackedSequence(p, c.padOpts);
      assertMatches(padded, c.padded, `${c.name}: padded`);
      assertMatches(lengths, c.lengthsOut, `${c.name}: lengths`);
      padded.mul(T(c.gOut)).sum().backward();
      assertMatches(x.grad!, c.grad, `${c.name}: grad of the padded input`);
      // Lengths as an int64 tensor give the same packing.
      const p2 = packPaddedSequence(x, zn.tensor(c.lengths, { dtype: "int64" }), c.opts);
      checkPacked(p2, c);
      return;
    }
    case "packSequence": {
      const p = packSequence((c.seqs as TensorRec[]).map(T), c.opts);
      checkPacked(p, c);
      return;
    }
  }
  throw new Error(`unknown utility case ${c.fn}`);
}

function checkPacked(p: zn.nn.utils.rnn.PackedSequence, c: UtilCase): void {
  assertMatches(p.data, c.data, `${c.name}: data`);
  assertMatches(p.batchSizes, c.batchSizes, `${c.name}: batchSizes`);
  if (c.sortedIndices === null) {
    assertEquals([p.sortedIndices, p.unsortedIndices], [null, null]);
  } else {
    assertMatches(p.sortedIndices!, c.sortedIndices, `${c.name}: sortedIndices`);
    assertMatches(p.unsortedIndices!, c.unsortedIndices, `${c.name}: unsortedIndices`);
  }
}

for (const c of fixtures.utils) {
  Deno.test(`rnn utils fixtures: ${c.name} matches PyTorch`, () => runUtil(c));
}

Deno.test("rnn: state dict keys and shapes are PyTorch's, in its order", () => {
  for (const c of fixtures.keys) {
    const m = build(c.ctor, c.inputSize, c.hiddenSize, c.opts);
    const got = Object.entries(m.stateDict()).map(([k, v]) => [k, v.shape]);
    assertEquals(got, c.keys, `${c.ctor} ${JSON.stringify(c.opts)}`);
  }
});

// ---------------------------------------------------------------- behaviour

Deno.test("rnn: typed results of call for tensors and packed sequences", () => {
  const lstm = new zn.nn.LSTM(3, 4, { numLayers: 2 });
  const [out, [h, c]] = lstm.call(zn.randn([5, 2, 3]));
  assertEquals([out.shape, h.shape, c.shape], [[5, 2, 4], [2, 2, 4], [2, 2, 4]]);
  const packed = packSequence([zn.randn([3, 3]), zn.randn([2, 3])]);
  const [pout, hN] = new zn.nn.GRU(3, 4).call(packed);
  assert(pout instanceof PackedSequence);
  assertEquals([pout.data.shape, hN.shape], [[5, 4], [1, 2, 4]]);
  assertEquals(lstm.weight_ih_l1.shape, [16, 4]);
  assertEquals(new zn.nn.RNN(3, 4, { bias: false }).bias_ih_l0, undefined);
  assertEquals(lstm.allWeights.map((ws) => ws.length), [4, 4]);
});

Deno.test("rnn: dropout between layers only in training mode, never after the last", () => {
  const gru = new zn.nn.GRU(3, 4, { numLayers: 2, dropout: 1 });
  const x = zn.randn([4, 2, 3]);
  const h0 = zn.zeros([2, 2, 4]);
  // With p = 1 the second layer sees zeros in training mode: its output is a
  // function of its biases alone, the same for every step's input.
  const [train] = gru.call(x, h0);
  const [train2] = gru.call(x.mul(2), h0);
  assert(train.eq(train2).all().item() === true, "layer 2 sees only zeros when training");
  gru.eval();
  const [ev] = gru.call(x, h0);
  const [ev2] = gru.call(x.mul(2), h0);
  assert(ev.eq(ev2).all().item() === false, "dropout is the identity in eval mode");
  // One layer: nothing to drop.
  const one = new zn.nn.RNN(3, 4, { dropout: 1 });
  const [o] = one.call(x);
  assert(o.abs().sum().item() as number > 0);
});

Deno.test("rnn: the packed path equals the padded path step by step", () => {
  zn.manualSeed(3);
  const lstm = new zn.nn.LSTM(3, 4, { bidirectional: true });
  const seqs = [zn.randn([4, 3]), zn.randn([2, 3]), zn.randn([5, 3])];
  const [pout, [h, c]] = lstm.call(packSequence(seqs, { enforceSorted: false }));
  const [padded] = padPackedSequence(pout);
  seqs.forEach((s, b) => {
    const [o, [hb, cb]] = lstm.call(s);
    const len = s.shape[0];
    const got = padded.index({ stop: len }, b);
    assert(got.sub(o).abs().max().item() as number < 1e-6, `sequence ${b}: outputs`);
    assert(h.index(":", b).sub(hb).abs().max().item() as number < 1e-6, `sequence ${b}: h`);
    assert(c.index(":", b).sub(cb).abs().max().item() as number < 1e-6, `sequence ${b}: c`);
  });
});

Deno.test("rnn: parameters are drawn from U(-1/sqrt(hidden), 1/sqrt(hidden))", () => {
  const m = new zn.nn.LSTM(10, 16, { numLayers: 2, bidirectional: true, projSize: 4 });
  for (const [name, p] of m.namedParameters()) {
    const a = p.abs().max().item() as number;
    assert(a <= 0.25 && a > 0.2, `${name}: max |w| ${a}`);
  }
  const cell = new zn.nn.GRUCell(3, 25);
  assert((cell.weight_hh.abs().max().item() as number) <= 0.2);
});

Deno.test("rnn: toString shows the settings", () => {
  assertEquals(
    new zn.nn.LSTM(3, 4, { numLayers: 2, batchFirst: true, bidirectional: true, projSize: 2 })
      .toString(),
    "LSTM(3, 4, projSize=2, numLayers=2, batchFirst=true, bidirectional=true)",
  );
  assertEquals(
    new zn.nn.RNNCell(3, 4, { nonlinearity: "relu" }).toString(),
    "RNNCell(3, 4, nonlinearity=relu)",
  );
});

// ---------------------------------------------------------------- errors

Deno.test("rnn errors: input size, input rank, hidden shape, dtype", () => {
  const lstm = new zn.nn.LSTM(3, 4, { numLayers: 2 });
  assertThrows(() => lstm.call(zn.randn([5, 2, 7])), RangeError, "Expected 3, got 7");
  assertThrows(() => lstm.call(zn.randn([5, 2, 3, 1])), RangeError, "2D or 3D, got 4D");
  assertThrows(
    () => lstm.call(zn.randn([5, 2, 3]), [zn.randn([1, 2, 4]), zn.randn([2, 2, 4])]),
    RangeError,
    "Expected hidden[0] size (2, 2, 4), got [1, 2, 4]",
  );
  assertThrows(
    () => lstm.call(zn.randn([5, 2, 3]), [zn.randn([2, 2, 4]), zn.randn([2, 2, 5])]),
    RangeError,
    "Expected hidden[1] size (2, 2, 4), got [2, 2, 5]",
  );
  assertThrows(
    () => lstm.call(zn.randn([5, 3]), [zn.randn([2, 1, 4]), zn.randn([2, 1, 4])]),
    RangeError,
    "For unbatched 2-D input, hx and cx should also be 2-D",
  );
  assertThrows(
    () => lstm.call(zn.randn([5, 2, 3]), loose(zn.randn([2, 2, 4]))),
    TypeError,
    "an array [h0, c0]",
  );
  const gru = new zn.nn.GRU(3, 4, { bidirectional: true });
  assertThrows(
    () => gru.call(zn.randn([5, 2, 3]), zn.randn([1, 2, 4])),
    RangeError,
    "Expected hidden size (2, 2, 4), got [1, 2, 4]",
  );
  assertThrows(
    () => gru.call(zn.randn([5, 2, 3]), zn.randn([2, 4])),
    RangeError,
    "For batched 3-D input, hx should also be 3-D but got 2-D tensor",
  );
  assertThrows(
    () => gru.call(zn.randn([5, 2, 3], { dtype: "float64" })),
    TypeError,
    "does not match weight dtype",
  );
  assertThrows(
    () => gru.call(zn.randn([5, 2, 3]), zn.randn([2, 2, 4], { dtype: "float64" })),
    TypeError,
    "same dtype",
  );
  assertThrows(() => gru.call(zn.randn([0, 2, 3])), RangeError, "sequence length");
  assertThrows(() => gru.call(loose(3)), TypeError, "a Tensor or a PackedSequence");
  const packed = packSequence([zn.randn([2, 5])]);
  assertThrows(() => gru.call(packed), RangeError, "Expected 3, got 5");
});

Deno.test("rnn errors: cells", () => {
  const cell = new zn.nn.LSTMCell(3, 4);
  assertThrows(() => cell.call(zn.randn([2, 2, 3])), RangeError, "1D or 2D, got 3D");
  assertThrows(() => cell.call(zn.randn([2, 5])), RangeError, "got 5 expected 3");
  assertThrows(
    () => cell.call(zn.randn([2, 3]), [zn.randn([3, 4]), zn.randn([2, 4])]),
    RangeError,
    "batch size 2 doesn't match h batch size 3",
  );
  assertThrows(
    () => cell.call(zn.randn([2, 3]), [zn.randn([2, 4]), zn.randn([2, 6])]),
    RangeError,
    "c has inconsistent hiddenSize: got 6, expected 4",
  );
  assertThrows(
    () => new zn.nn.GRUCell(3, 4).call(zn.randn([3]), zn.randn([1, 4])),
    RangeError,
    "Expected hx to be 1D",
  );
});

Deno.test("rnn errors: constructors and unknown options", () => {
  assertThrows(
    () => new zn.nn.LSTM(3, 4, loose({ num_layers: 2 })),
    TypeError,
    'did you mean "numLayers"',
  );
  assertThrows(() => new zn.nn.RNN(3, 4, loose({ projSize: 2 })), TypeError, "unknown option");
  assertThrows(
    () => new zn.nn.GRU(3, 4, loose({ nonlinearity: "relu" })),
    TypeError,
    "unknown option",
  );
  assertThrows(() => new zn.nn.RNNCell(3, 4, loose({ bogus: 1 })), TypeError, "unknown option");
  assertThrows(() => new zn.nn.LSTMCell(3, 4, loose({ projSize: 1 })), TypeError, "unknown option");
  assertThrows(
    () => new zn.nn.RNN(3, 4, loose({ nonlinearity: "gelu" })),
    TypeError,
    "nonlinearity",
  );
  assertThrows(() => new zn.nn.LSTM(3, 4, { projSize: 4 }), RangeError, "smaller than hiddenSize");
  assertThrows(() => new zn.nn.LSTM(3, 4, { dropout: 1.5 }), RangeError, "dropout");
  assertThrows(() => new zn.nn.LSTM(3, 0), RangeError, "hiddenSize");
  assertThrows(() => new zn.nn.GRU(3, 4, { numLayers: 0 }), RangeError, "numLayers");
  assertThrows(() => new zn.nn.GRU(3, 4, loose({ dtype: "int64" })), TypeError, "floating dtype");
  assertThrows(() => new zn.nn.GRU(3, 4, loose({ batchFirst: 1 })), TypeError, "batchFirst");
  assertThrows(() => new zn.nn.RNNBase(loose("LSTMX"), 3, 4), TypeError, "unknown mode");
  assertThrows(
    () => new zn.nn.RNNBase("GRU", 3, 4, { projSize: 2 }),
    RangeError,
    "only supported for LSTM",
  );
});

Deno.test("rnn errors: packing utilities", () => {
  const x = zn.randn([4, 3, 2]);
  assertThrows(
    () => packPaddedSequence(x, [2, 4, 1]),
    RangeError,
    "lengths must be sorted in decreasing order when enforceSorted is true",
  );
  assertThrows(() => packPaddedSequence(x, [4, 2]), RangeError, "batch_size");
  assertThrows(() => packPaddedSequence(x, [4, 2, 0]), RangeError, "greater than 0");
  assertThrows(() => packPaddedSequence(x, [5, 2, 1]), RangeError, "exceeds the 4 steps");
  assertThrows(() => packPaddedSequence(x, [4, 2.5, 1]), RangeError, "integer");
  assertThrows(
    () => packPaddedSequence(x, [4, 2, 1], loose({ enforce_sorted: false })),
    TypeError,
    "unknown option",
  );
  assertThrows(
    () => padPackedSequence(packSequence([zn.ones([3])]), { totalLength: 2 }),
    RangeError,
    "at least the length of the longest sequence",
  );
  assertThrows(() => padSequence([]), RangeError, "empty list");
  assertThrows(() => padSequence([zn.ones([2, 3]), zn.ones([2, 4])]), RangeError, "trailing shape");
  assertThrows(
    () => padSequence([zn.ones([2])], loose({ paddingSide: "top" })),
    TypeError,
    "paddingSide",
  );
  assertThrows(() => padPackedSequence(loose(zn.ones([2]))), TypeError, "a PackedSequence");
  assertThrows(() => new PackedSequence(zn.ones([3, 2]), [2, 2]), RangeError, "sum to 4");
  assertThrows(() => new PackedSequence(zn.ones([3, 2]), [1, 2]), RangeError, "non-increasing");
  assertThrows(
    () => new PackedSequence(zn.ones([3, 2]), [2, 1], zn.tensor([0n, 0n])),
    RangeError,
    "permutation",
  );
  const p = new PackedSequence(zn.ones([3, 2]), [2, 1], zn.tensor([1n, 0n]));
  assertEquals(p.unsortedIndices!.toArray(), [1n, 0n]);
});
