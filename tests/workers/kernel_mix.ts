// The kernels that tests/workers_test.ts runs from several threads at once:
// every one large enough to be split over the thread pool.
import * as zn from "../../mod.ts";

/** Inputs as plain arrays, so they cross to a Worker by structured clone. */
export interface Inputs {
  x: Float32Array;
  xShape: number[];
  a: Float32Array;
  aShape: number[];
  b: Float32Array;
  bShape: number[];
  img: Float32Array;
  imgShape: number[];
  w: Float32Array;
  wShape: number[];
}

/** One kernel result that differed from the single-threaded run. */
export interface Mismatch {
  call: number;
  kernel: number;
  length: number;
  maxDiff: number;
}

/** Seeded inputs: x [256, 1024], a [192, 256] @ b [256, 160], img [8, 3, 32, 32] * w [16, 3, 3, 3]. */
export function makeInputs(seed: number): Inputs {
  zn.manualSeed(seed);
  const draw = (shape: number[]) => zn.randn(shape).toTypedArray() as Float32Array;
  const shapes = {
    xShape: [256, 1024],
    aShape: [192, 256],
    bShape: [256, 160],
    imgShape: [8, 3, 32, 32],
    wShape: [16, 3, 3, 3],
  };
  return {
    ...shapes,
    x: draw(shapes.xShape),
    a: draw(shapes.aShape),
    b: draw(shapes.bShape),
    img: draw(shapes.imgShape),
    w: draw(shapes.wShape),
  };
}

/** The inputs as tensors. */
export function tensors(inputs: Inputs): Operands {
  return {
    x: zn.tensor(inputs.x, { shape: inputs.xShape }),
    a: zn.tensor(inputs.a, { shape: inputs.aShape }),
    b: zn.tensor(inputs.b, { shape: inputs.bShape }),
    img: zn.tensor(inputs.img, { shape: inputs.imgShape }),
    w: zn.tensor(inputs.w, { shape: inputs.wShape }),
  };
}

/** The operands of the mix. */
export interface Operands {
  x: zn.Tensor;
  a: zn.Tensor;
  b: zn.Tensor;
  img: zn.Tensor;
  w: zn.Tensor;
}

/** The number of kernels in the mix. */
export const KERNELS = 6;

/** Runs kernel `k` of the mix and returns its result's elements. */
export function runKernel(k: number, t: Operands): Float32Array {
  let out: zn.Tensor;
  switch (k) {
    case 0:
      out = t.x.sum(); // one float32 sum over 262,144 elements
      break;
    case 1:
      out = t.x.amax(1);
      break;
    case 2:
      out = t.x.softmax(-1).sum(-1);
      break;
    case 3:
      out = t.a.matmul(t.b);
      break;
    case 4:
      out = zn.nn.functional.conv2d(t.img, t.w, null, { padding: 1 });
      break;
    default:
      out = t.x.sum(0);
  }
  return out.toTypedArray() as Float32Array;
}
