/**
 * File formats: safetensors save and load.
 *
 * ```ts
 * import * as zn from "@zeno/zeno";
 * import { deserialize, serialize } from "@zeno/zeno";
 * const bytes = serialize({ w: zn.tensor([1, 2]) });
 * deserialize(bytes).w.toArray(); // [1, 2]
 * ```
 *
 * @module
 */
export {
  deserialize,
  deserializeMetadata,
  load,
  loadMetadata,
  loadMetadataSync,
  loadSync,
  optimizerStateFromSafetensors,
  optimizerStateToSafetensors,
  SafetensorsError,
  save,
  saveSync,
  serialize,
} from "./safetensors.ts";
export type {
  LoadOptions,
  NamedTensors,
  OptimizerStateOptions,
  SafetensorsContent,
  SafetensorsErrorCode,
  SaveOptions,
} from "./safetensors.ts";
export type { OptimizerStateDict, ParamState } from "../optim/optimizer.ts";
