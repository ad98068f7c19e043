/**
 * Functional activations: the tensor ops under their `torch.nn.functional` names.
 *
 * @module
 */
export { elu, gelu, leakyRelu, relu, sigmoid, silu, softplus, tanh } from "../../ops/unary_fns.ts";
export { logSoftmax, softmax } from "../../ops/reduce.ts";
