/**
 * `zn.data`: datasets, the DataLoader, dataset readers (MNIST, IDX, CSV),
 * image transforms, with the semantics of `torch.utils.data` and
 * torchvision, and text vocabularies, tokenizers and token windows
 * (`zn.data.text`).
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const { DataLoader, randomSplit, TensorDataset } = zn.data;
 * const ds = new TensorDataset(zn.randn([100, 4]), zn.randint(0, 3, [100]));
 * const [train, val] = randomSplit(ds, [0.8, 0.2], { generator: new zn.Generator(0) });
 * const loader = new DataLoader(train, { batchSize: 16, shuffle: true });
 * for (const [x, y] of loader) {
 *   x.shape; // [16, 4]
 * }
 * val.length; // 20
 * ```
 *
 * @module
 */
export * from "./dataset.ts";
export * from "./collate.ts";
export * from "./dataloader.ts";
export * from "./distributed_sampler.ts";
export * from "./mnist.ts";
export * from "./csv.ts";
export * as transforms from "./transforms.ts";
export * as text from "./text/mod.ts";
