// The fused LSTM and GRU layers (zig/src/rnn.zig behind RECURRENT_LAYERS)
// against the composed reference layers: outputs, final states and every
// gradient, both directions, float32 and float64; double backward; and the
// cases the fused path leaves to the reference.
import { assert } from "./assert_helpers.ts";
import * as zn from "../mod.ts";
import {
  gruLayerReference,
  type LayerWeights,
  lstmLayerReference,
} from "../src/nn/rnn_reference.ts";
import { gruLayerFused, lstmLayerFused } from "../src/nn/rnn_fused.ts";

function maxDiff(a: zn.Tensor, b: zn.Tensor): number {
  return a.sub(b).abs().max().item() as number;
}

function weights(gates: number, input: number, hidden: number, dtype: zn.DType, bias: boolean) {
  const r = (shape: number[]) => zn.randn(shape, { dtype }).mul(0.3).requiresGrad_();
  return {
    wIh: r([gates * hidden, input]),
    wHh: r([gates * hidden, hidden]),
    bIh: bias ? r([gates * hidden]) : null,
    bHh: bias ? r([gates * hidden]) : null,
  } satisfies LayerWeights;
}

const leaves = (w: LayerWeights, ...more: zn.Tensor[]) =>
  [w.wIh, w.wHh, w.bIh, w.bHh, ...more].filter((t): t is zn.Tensor => t !== null);

/**
 * Asserts the fused outputs `a` match the reference's `b` within `tol`, and
 * the gradients of both (for the same random output gradients) with respect
 * to `inputs` within 20 tol.
 */
function assertSameRuns(
  a: zn.Tensor[],
  b: zn.Tensor[],
  inputs: zn.Tensor[],
  what: string,
  tol: number,
): void {
  const gouts = a.map((t) => zn.randn(t.shape, { dtype: t.dtype }));
  const ga = zn.grad(a, inputs, { gradOutputs: gouts });
  const gb = zn.grad(b, inputs, { gradOutputs: gouts });
  a.forEach((t, i) => {
    const d = maxDiff(t, b[i]);
    assert(d < tol, `${what}: output ${i} largest difference ${d}`);
  });
  ga.forEach((g, i) => {
    const d = maxDiff(g!, gb[i]!);
    assert(d < 20 * tol, `${what}: gradient ${i} largest difference ${d}`);
  });
}

Deno.test("fused LSTM and GRU layers match the reference: outputs, states and gradients", () => {
  zn.manualSeed(31);
  const shapes = [[1, 1, 3, 5], [7, 4, 6, 33], [12, 13, 40, 64], [5, 2, 9, 70]];
  for (const dtype of ["float32", "float64"] as const) {
    const tol = dtype === "float32" ? 2e-5 : 1e-11;
    for (const [T, B, I, H] of shapes) {
      for (const reverse of [false, true]) {
        for (const bias of [true, false]) {
          const what = `${dtype} T=${T} B=${B} I=${I} H=${H} reverse=${reverse} bias=${bias}`;
          const x = zn.randn([T, B, I], { dtype, requiresGrad: true });
          const h0 = zn.randn([B, H], { dtype, requiresGrad: true });
          const c0 = zn.randn([B, H], { dtype, requiresGrad: true });
          // LSTM
          const wl = weights(4, I, H, dtype, bias);
          const a = lstmLayerFused(x, h0, c0, wl, reverse);
          const b = lstmLayerReference(x, h0, c0, wl, reverse);
          assertSameRuns(a, b, [x, h0, c0, ...leaves(wl)], `lstm ${what}`, tol);
          // GRU
          const wg = weights(3, I, H, dtype, bias);
          const ag = gruLayerFused(x, h0, wg, reverse);
          const bg = gruLayerReference(x, h0, wg, reverse);
          assertSameRuns(ag, bg, [x, h0, ...leaves(wg)], `gru ${what}`, tol);
        }
      }
    }
  }
});

Deno.test("fused LSTM without states (zeros) or with states that need no gradient matches the reference", () => {
  zn.manualSeed(33);
  for (const dtype of ["float32", "float64"] as const) {
    const tol = dtype === "float32" ? 2e-5 : 1e-11;
    for (const [T, B, I, H] of [[1, 2, 3, 5], [6, 5, 7, 40]]) {
      for (const reverse of [false, true]) {
        for (const bias of [true, false]) {
          const x = zn.randn([T, B, I], { dtype, requiresGrad: true });
          const wl = weights(4, I, H, dtype, bias);
          const fixed = [zn.randn([B, H], { dtype }), zn.randn([B, H], { dtype })];
          const zero = [zn.zeros([B, H], { dtype }), zn.zeros([B, H], { dtype })];
          const cases: [string, (zn.Tensor | null)[], zn.Tensor[]][] = [
            ["no states", [null, null], zero],
            ["states without grad", fixed, fixed],
          ];
          for (const [kind, given, ref] of cases) {
            const what = `${kind} ${dtype} T=${T} B=${B} H=${H} reverse=${reverse} bias=${bias}`;
            const a = lstmLayerFused(x, given[0], given[1], wl, reverse);
            const b = lstmLayerReference(x, ref[0], ref[1], wl, reverse);
            assertSameRuns(a, b, [x, ...leaves(wl)], `lstm ${what}`, tol);
          }
        }
      }
    }
  }
  // Double backward through a layer without states.
  const x = zn.randn([3, 2, 4], { dtype: "float64", requiresGrad: true });
  const wl = weights(4, 4, 5, "float64", true);
  const zero = zn.zeros([2, 5], { dtype: "float64" });
  const second = (outs: zn.Tensor[]) => {
    const loss = outs.map((o) => o.square().sum()).reduce((p, q) => p.add(q));
    const [gx] = zn.grad(loss, [x], { createGraph: true });
    return zn.grad(gx!.square().sum(), [x, ...leaves(wl)]);
  };
  const a = second(lstmLayerFused(x, null, null, wl, false));
  const b = second(lstmLayerReference(x, zero, zero, wl, false));
  a.forEach((g, i) => {
    const d = maxDiff(g!, b[i]!);
    assert(d < 1e-9, `lstm without states: second-order gradient ${i} largest difference ${d}`);
  });
});

Deno.test("the fused layers run inside the modules and take the native path", () => {
  const lstm = new zn.nn.LSTM(8, 16, { numLayers: 2, bidirectional: true });
  const [y] = lstm.call(zn.randn([5, 3, 8])) as [zn.Tensor, unknown];
  const names: string[] = [];
  for (let n = y.gradFn; n; n = n.edges.find((e) => e?.node)?.node ?? null) names.push(n.name);
  assert(names.includes("lstmLayer"), names.join(", "));
  const gru = new zn.nn.GRU(8, 16);
  const [z] = gru.call(zn.randn([5, 3, 8])) as [zn.Tensor, unknown];
  assert(z.gradFn?.name === "gruRecurrence" || z.gradFn?.edges[0]?.node?.name === "gruRecurrence");
});

Deno.test("fused layers' double backward (createGraph) matches the reference", () => {
  zn.manualSeed(32);
  const dtype = "float64";
  const x = zn.randn([4, 2, 3], { dtype, requiresGrad: true });
  const h0 = zn.randn([2, 5], { dtype, requiresGrad: true });
  const c0 = zn.randn([2, 5], { dtype, requiresGrad: true });
  const wl = weights(4, 3, 5, dtype, true);
  const wg = weights(3, 3, 5, dtype, true);
  const runs: [string, () => zn.Tensor[], () => zn.Tensor[], zn.Tensor[]][] = [
    [
      "lstm",
      () => lstmLayerFused(x, h0, c0, wl, true),
      () => lstmLayerReference(x, h0, c0, wl, true),
      [x, h0, c0, ...leaves(wl)],
    ],
    ["gru", () => gruLayerFused(x, h0, wg, false), () => gruLayerReference(x, h0, wg, false), [
      x,
      h0,
      ...leaves(wg),
    ]],
  ];
  for (const [name, fused, ref, inputs] of runs) {
    const second = (outs: zn.Tensor[]) => {
      const loss = outs.map((o) => o.square().sum()).reduce((p, q) => p.add(q));
      const [gx] = zn.grad(loss, [x], { createGraph: true });
      return zn.grad(gx!.square().sum(), inputs, { allowUnused: true });
    };
    const a = second(fused()), b = second(ref());
    a.forEach((g, i) => {
      if (g === null || b[i] === null) {
        assert(g === b[i], `${name}: input ${i} used by one path only`);
        return;
      }
      const d = maxDiff(g, b[i]!);
      assert(d < 1e-9, `${name}: second-order gradient ${i} largest difference ${d}`);
    });
  }
});

Deno.test("the fused path leaves packed input and projections to the reference", () => {
  zn.manualSeed(33);
  const x = zn.randn([6, 3]);
  const h0 = zn.zeros([3, 4]), c0 = zn.zeros([3, 4]);
  const w = weights(4, 3, 4, "float32", true);
  // Packed rows with shrinking batch sizes: identical to the reference's result.
  const sizes = [3, 2, 1];
  const a = lstmLayerFused(x, h0, c0, w, false, sizes);
  const b = lstmLayerReference(x, h0, c0, w, false, sizes);
  a.forEach((t, i) => assert(maxDiff(t, b[i]) === 0));
  // projSize 2: W_hh reads the projected state, [4H, P].
  const proj = { ...w, wHh: zn.randn([16, 2]), wHr: zn.randn([2, 4]) };
  const x3 = zn.randn([2, 3, 3]);
  const p = lstmLayerFused(x3, zn.zeros([3, 2]), c0, proj, false);
  const q = lstmLayerReference(x3, zn.zeros([3, 2]), c0, proj, false);
  p.forEach((t, i) => assert(maxDiff(t, q[i]) === 0));
});

Deno.test("the fused LSTM's workspace is released with its tape entry, and kept while the graph is retained", () => {
  const lstm = new zn.nn.LSTM(4, 8);
  const x = zn.randn([3, 2, 4], { requiresGrad: true });
  const ownedOf = (y: zn.Tensor) => {
    for (let n = y.gradFn; n; n = n.edges.find((e) => e?.node)?.node ?? null) {
      if (n.name === "lstmLayer") return n.owned ?? [];
    }
    throw new Error("no lstmLayer entry");
  };
  const [y1] = lstm.call(x) as [zn.Tensor, unknown];
  const kept = ownedOf(y1);
  // The saved gates and cell states (the input projection is freed at once).
  assert(kept.length === 1, `owned: ${kept.length}`);
  y1.sum().backward(null, { retainGraph: true });
  assert(kept.every((t) => !t.isDisposed), "retained graph keeps the workspace");
  const g1 = x.grad!.clone();
  x.grad = null;
  y1.sum().backward();
  assert(kept.every((t) => t.isDisposed), "released with the entry");
  assert(maxDiff(x.grad!, g1) === 0, "the second backward matches the first");
  // y1 is a view of the layer's output, which the release leaves alone.
  assert(!y1.isDisposed && Number.isFinite(y1.sum().item()));
});
