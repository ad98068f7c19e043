/**
 * `zn.data`: datasets, the DataLoader, dataset readers (MNIST, IDX, CSV) and
 * image transforms, with the semantics of `torch.utils.data` and
 * torchvision.
 *
 * ```ts
 * import * as zn from "../../mod.ts";
 * import { DataLoader, randomSplit, TensorDataset } from "./mod.ts";
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
export {
  ConcatDataset,
  Dataset,
  IterableDataset,
  randomSplit,
  Subset,
  TensorDataset,
} from "./dataset.ts";
export type { RandomSplitOptions, TensorRows } from "./dataset.ts";
export { defaultCollate } from "./collate.ts";
export type { Collated } from "./collate.ts";
export { DataLoader } from "./dataloader.ts";
export type { DataLoaderOptions } from "./dataloader.ts";
export {
  FASHION_MNIST_CLASSES,
  fashionMnist,
  gunzip,
  mnist,
  mnistFromIdx,
  readIdx,
} from "./mnist.ts";
export type { IdxDatasetOptions } from "./mnist.ts";
export { csv, CsvDataset, parseCsv } from "./csv.ts";
export type { CsvOptions } from "./csv.ts";
export * as transforms from "./transforms.ts";
