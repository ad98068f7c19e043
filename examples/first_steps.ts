/**
 * A first look at Zeno tensors: creation, broadcasting, views, reductions
 * and a least-squares fit by gradient descent.
 *
 *   deno run --allow-ffi --allow-read --allow-env examples/first_steps.ts
 *
 * @module
 */
import * as zn from "../mod.ts";
import { Cli } from "./cli_flags.ts";

new Cli({
  name: "first_steps",
  usage: "deno run --allow-ffi --allow-read --allow-env examples/first_steps.ts",
  summary: "Tensors, broadcasting, views, reductions and a least-squares fit, printed.",
  flags: {},
}).parse();

zn.manualSeed(0);

// Plain numbers make float32 tensors (JavaScript cannot tell 1 from 1.0);
// bigints or { dtype: "int64" } make integer ones.
const a = zn.tensor([[1, 2, 3], [4, 5, 6]]);
const order = zn.tensor([2n, 0n, 1n]);
console.log("a =", a.toString(), "order =", order.toString());
console.log("a.T =", a.mT.toString());
console.log("row sums:", a.sum(1).toArray(), "column means:", a.mean(0).toArray());
console.log("a * [10, 20, 30] =", a.mul(zn.tensor([10, 20, 30])).toArray());
console.log("columns 2, 0, 1 of a:", a.index(":", order).toArray());

// y = 3 x0 - 2 x1 + 0.5 + noise: recover the weights by gradient descent on
// the mean squared error, written with plain tensor ops.
const n = 256;
const x = zn.randn([n, 2]);
const X = zn.cat([x, zn.ones([n, 1])], 1);
const trueW = zn.tensor([[3], [-2], [0.5]]);
const y = X.matmul(trueW).add(zn.randn([n, 1]).mul(0.01));
let w = zn.zeros([3, 1]);
for (let step = 0; step < 200; step++) {
  const err = X.matmul(w).sub(y);
  const grad = X.mT.matmul(err).mul(2 / n);
  w = w.sub(grad.mul(0.1));
}
console.log("fitted weights:", w.flatten().toArray(), "(true: [3, -2, 0.5])");

const logits = zn.randn([4, 5]);
console.log("softmax rows sum to", logits.softmax(-1).sum(-1).toArray());
console.log("argmax per row:", logits.argmax(-1).toArray());
console.log("top-2 per row:", logits.topk(2).indices.toArray());
