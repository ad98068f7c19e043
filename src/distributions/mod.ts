/**
 * `zn.distributions`: probability distributions with PyTorch's semantics
 * (`torch.distributions`): batch shapes and broadcasting, sampling,
 * reparameterized sampling, log-probabilities, entropies and argument
 * validation.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { Categorical, Normal } = zn.distributions;
 * const logits = zn.randn([4, 10], { requiresGrad: true });
 * const policy = new Categorical({ logits });
 * const actions = policy.sample(); // int64, shape [4]
 * policy.logProb(actions).sum().backward(); // gradients reach logits
 * new Normal(0, 1).rsample([2]).shape; // [2]
 * ```
 *
 * @module
 */
export * from "./distribution.ts";
export * from "./normal.ts";
export * from "./categorical.ts";
export * from "./bernoulli.ts";
