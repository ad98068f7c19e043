/**
 * The default initialisation of the layers' parameters, as in PyTorch.
 *
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { calculateFanInAndFanOut, kaimingUniform_, uniform_ } from "./init.ts";

/** @internal PyTorch's default init of a weight and bias: kaiming-uniform(a=√5) and U(±1/√fanIn). */
export function resetWeightAndBias(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const [fanIn] = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}
