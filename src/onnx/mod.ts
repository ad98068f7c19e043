/**
 * ONNX: export a module's forward pass to an ONNX file, and parse ONNX
 * files.
 *
 * ```ts ignore
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Linear(4, 2);
 * await zn.onnx.exportModel(net, [zn.randn([1, 4])], "net.onnx", { dynamicAxes: { input_0: [0] } });
 * ```
 *
 * @module
 */
export { exportModel, exportModelBytes } from "./export.ts";
export type { ExportOptions } from "./export.ts";
export { load, loadBytes, OnnxModule } from "./load.ts";
export type { OnnxLoadOptions } from "./load.ts";
export { OnnxFormatError } from "./proto.ts";
