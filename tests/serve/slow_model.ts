// A model for the server's tests: doubles its input after holding its
// Worker for `ms` milliseconds, so that requests pile up behind it.
import * as zn from "../../mod.ts";

class Slow extends zn.nn.Module {
  constructor(readonly ms: number) {
    super();
  }
  override forward(x: zn.Tensor): zn.Tensor {
    const t0 = performance.now();
    while (performance.now() - t0 < this.ms) { /* busy: the Worker is occupied */ }
    return x.mul(2);
  }
}

export function loadModel(ms: number): zn.nn.Module {
  return new Slow(ms);
}
