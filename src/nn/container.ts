/**
 * Containers: `Sequential`, `ModuleList` and `ModuleDict`.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { Parameter } from "./parameter.ts";
import { Module } from "./module.ts";
import { checkIterable } from "../args.ts";

/** Keys of state that stays off the module's public members (and that deepCopy copies). */
const ENTRIES: unique symbol = Symbol("entries");
const ITEMS: unique symbol = Symbol("items");

function checkModule(m: unknown, op: string): Module {
  if (!(m instanceof Module)) throw new TypeError(`${op}: expected a Module`);
  return m;
}

/** Numbered children, as in Sequential and ModuleList. */
function numbered(self: Module): Module[] {
  const out: Module[] = [];
  for (const [k, v] of Object.entries(self)) {
    if (/^\d+$/.test(k) && v instanceof Module) out.push(v);
  }
  return out;
}

function indexIn(i: number, n: number, op: string): number {
  const j = i < 0 ? i + n : i;
  if (!Number.isInteger(j) || j < 0 || j >= n) {
    throw new RangeError(`${op}: index ${i} is out of range for ${n} modules`);
  }
  return j;
}

/**
 * Runs its children in order, each on the previous one's output. Children
 * are named "0", "1", ... (or by the keys of a Map or object given alone).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Sequential(new zn.nn.Linear(2, 4), new zn.nn.ReLU(), new zn.nn.Linear(4, 1));
 * net.call(zn.randn([3, 2])).shape; // [3, 1]
 * Object.keys(net.stateDict()); // ["0.weight", "0.bias", "2.weight", "2.bias"]
 * net.at(-1); // the last Linear
 * ```
 */
export class Sequential extends Module {
  /** A Sequential of `modules`, or of the entries of one Map or object of modules. */
  constructor(...modules: (Module | Map<string, Module> | Record<string, Module>)[]) {
    super();
    if (modules.length === 1 && !(modules[0] instanceof Module)) {
      const entries = modules[0] instanceof Map
        ? [...modules[0]]
        : Object.entries(modules[0] as Record<string, Module>);
      for (const [k, m] of entries) this.addModule(k, checkModule(m, "Sequential"));
    } else {
      modules.forEach((m, i) => this.addModule(String(i), checkModule(m, "Sequential")));
    }
  }

  /** The number of children. */
  get length(): number {
    return [...this.children()].length;
  }

  /** The child at position `i` (negative counts from the end). */
  at(i: number): Module {
    const kids = [...this.children()];
    return kids[indexIn(i, kids.length, "Sequential.at")];
  }

  /** Adds `module` at the end; returns this. */
  append(module: Module): this {
    this.addModule(String(this.length), checkModule(module, "Sequential.append"));
    return this;
  }

  /** Iterates over the children. */
  [Symbol.iterator](): IterableIterator<Module> {
    return this.children();
  }

  /** Feeds `input` through the children in order. */
  override forward(input: Tensor): Tensor {
    let x = input;
    for (const m of this.children()) x = m.call(x);
    return x;
  }
}

/**
 * A list of modules, registered as children "0", "1", ... (no forward of its own).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const layers = new zn.nn.ModuleList([new zn.nn.Linear(2, 2), new zn.nn.Linear(2, 2)]);
 * layers.length; // 2
 * let x = zn.randn([1, 2]);
 * for (const l of layers) x = l.call(x);
 * ```
 */
export class ModuleList extends Module {
  /** A list of `modules` (default empty). */
  constructor(modules: Iterable<Module> = []) {
    super();
    checkIterable(modules, "ModuleList", "modules", "an iterable of Modules");
    for (const m of modules) this.append(m);
  }

  /** The number of modules. */
  get length(): number {
    return numbered(this).length;
  }

  /** The module at `i` (negative counts from the end). */
  at(i: number): Module {
    const list = numbered(this);
    return list[indexIn(i, list.length, "ModuleList.at")];
  }

  /** Replaces the module at `i`. */
  set(i: number, module: Module): void {
    const j = indexIn(i, this.length, "ModuleList.set");
    this.addModule(String(j), checkModule(module, "ModuleList.set"));
  }

  /** Adds `module` at the end; returns this. */
  append(module: Module): this {
    this.addModule(String(this.length), checkModule(module, "ModuleList.append"));
    return this;
  }

  /** Adds each of `modules` at the end; returns this. */
  extend(modules: Iterable<Module>): this {
    checkIterable(modules, "ModuleList.extend", "modules", "an iterable of Modules");
    for (const m of modules) this.append(m);
    return this;
  }

  /** Iterates over the modules. */
  [Symbol.iterator](): IterableIterator<Module> {
    return numbered(this)[Symbol.iterator]();
  }
}

/**
 * Modules by name, in insertion order (no forward of its own). Entries are
 * kept apart from the object's properties, so any name is allowed.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const heads = new zn.nn.ModuleDict({ cls: new zn.nn.Linear(4, 3), box: new zn.nn.Linear(4, 4) });
 * heads.get("cls").call(zn.randn([1, 4])).shape; // [1, 3]
 * Object.keys(heads.stateDict()); // ["cls.weight", "cls.bias", "box.weight", "box.bias"]
 * ```
 */
export class ModuleDict extends Module {
  /** @internal The entries. */
  readonly [ENTRIES]: Map<string, Module> = new Map();

  /** A dict of the given modules (default empty). */
  constructor(modules: Map<string, Module> | Record<string, Module> = {}) {
    super();
    this.update(modules);
  }

  /** The entries, for traversal. */
  protected override ownMembers(): [string, unknown][] {
    return [...super.ownMembers(), ...this[ENTRIES]];
  }

  /** The number of entries. */
  get size(): number {
    return this[ENTRIES].size;
  }

  /** The module under `key` (throws when absent). */
  get(key: string): Module {
    const m = this[ENTRIES].get(key);
    if (!m) throw new Error(`ModuleDict: no module "${key}"`);
    return m;
  }

  /** Sets the module under `key`; returns this. */
  set(key: string, module: Module): this {
    if (typeof key !== "string" || key === "" || key.includes(".")) {
      throw new TypeError(`ModuleDict: key must be a non-empty string without ".", got "${key}"`);
    }
    this[ENTRIES].set(key, checkModule(module, "ModuleDict.set"));
    return this;
  }

  /** Whether `key` is present. */
  has(key: string): boolean {
    return this[ENTRIES].has(key);
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: string): boolean {
    return this[ENTRIES].delete(key);
  }

  /** Adds or replaces entries from a Map or an object. */
  update(modules: Map<string, Module> | Record<string, Module>): this {
    const entries = modules instanceof Map ? [...modules] : Object.entries(modules);
    for (const [k, m] of entries) this.set(k, m);
    return this;
  }

  /** The keys in insertion order. */
  keys(): IterableIterator<string> {
    return this[ENTRIES].keys();
  }

  /** The modules in insertion order. */
  values(): IterableIterator<Module> {
    return this[ENTRIES].values();
  }

  /** The `[key, module]` pairs in insertion order. */
  entries(): IterableIterator<[string, Module]> {
    return this[ENTRIES].entries();
  }

  /** Iterates over the `[key, module]` pairs. */
  [Symbol.iterator](): IterableIterator<[string, Module]> {
    return this[ENTRIES].entries();
  }
}

/** A Parameter as given, or a plain tensor wrapped as one (as PyTorch does). */
function asParameter(p: unknown, op: string): Parameter {
  if (p instanceof Parameter) return p;
  if (p instanceof Tensor) return new Parameter(p);
  throw new TypeError(
    `${op}: expected a Parameter or Tensor, got ${p === null ? "null" : typeof p}`,
  );
}

/**
 * A list of parameters, registered as "0", "1", ...: they appear in
 * `parameters()` and the state dict. Plain tensors are wrapped as Parameters.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * class Mix extends zn.nn.Module {
 *   weights = new zn.nn.ParameterList([zn.ones([2]), zn.zeros([2])]);
 * }
 * Object.keys(new Mix().stateDict()); // ["weights.0", "weights.1"]
 * ```
 */
export class ParameterList extends Module {
  /** @internal The items. */
  readonly [ITEMS]: Parameter[] = [];

  /** A list of `params` (default empty). */
  constructor(params: Iterable<Parameter | Tensor> = []) {
    super();
    checkIterable(params, "ParameterList", "params", "an iterable of Parameters");
    for (const p of params) this.append(p);
  }

  /** The entries, for traversal. */
  protected override ownMembers(): [string, unknown][] {
    return [...super.ownMembers(), ...this[ITEMS].map((p, i): [string, unknown] => [String(i), p])];
  }

  /** The number of parameters. */
  get length(): number {
    return this[ITEMS].length;
  }

  /** The parameter at `i` (negative counts from the end). */
  at(i: number): Parameter {
    return this[ITEMS][indexIn(i, this[ITEMS].length, "ParameterList.at")];
  }

  /** Replaces the parameter at `i`. */
  set(i: number, param: Parameter | Tensor): void {
    this[ITEMS][indexIn(i, this[ITEMS].length, "ParameterList.set")] = asParameter(
      param,
      "ParameterList.set",
    );
  }

  /** Adds `param` at the end; returns this. */
  append(param: Parameter | Tensor): this {
    this[ITEMS].push(asParameter(param, "ParameterList.append"));
    return this;
  }

  /** Adds each of `params` at the end; returns this. */
  extend(params: Iterable<Parameter | Tensor>): this {
    checkIterable(params, "ParameterList.extend", "params", "an iterable of Parameters");
    for (const p of params) this.append(p);
    return this;
  }

  /** Iterates over the parameters. */
  [Symbol.iterator](): IterableIterator<Parameter> {
    return this[ITEMS][Symbol.iterator]();
  }
}

/**
 * Parameters by name, in insertion order: they appear in `parameters()` and
 * the state dict under `<name>.<key>`. Plain tensors are wrapped as Parameters.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * class Heads extends zn.nn.Module {
 *   scales = new zn.nn.ParameterDict({ a: zn.ones([1]), b: zn.ones([3]) });
 * }
 * Object.keys(new Heads().stateDict()); // ["scales.a", "scales.b"]
 * ```
 */
export class ParameterDict extends Module {
  /** @internal The entries. */
  readonly [ENTRIES]: Map<string, Parameter> = new Map();

  /** A dict of the given parameters (default empty). */
  constructor(params: Map<string, Parameter | Tensor> | Record<string, Parameter | Tensor> = {}) {
    super();
    this.update(params);
  }

  /** The entries, for traversal. */
  protected override ownMembers(): [string, unknown][] {
    return [...super.ownMembers(), ...this[ENTRIES]];
  }

  /** The number of entries. */
  get size(): number {
    return this[ENTRIES].size;
  }

  /** The parameter under `key` (throws when absent). */
  get(key: string): Parameter {
    const p = this[ENTRIES].get(key);
    if (!p) throw new Error(`ParameterDict: no parameter "${key}"`);
    return p;
  }

  /** Sets the parameter under `key`; returns this. */
  set(key: string, param: Parameter | Tensor): this {
    if (typeof key !== "string" || key === "" || key.includes(".")) {
      throw new TypeError(
        `ParameterDict: key must be a non-empty string without ".", got "${key}"`,
      );
    }
    this[ENTRIES].set(key, asParameter(param, "ParameterDict.set"));
    return this;
  }

  /** Whether `key` is present. */
  has(key: string): boolean {
    return this[ENTRIES].has(key);
  }

  /** Removes `key`; returns whether it was present. */
  delete(key: string): boolean {
    return this[ENTRIES].delete(key);
  }

  /** Adds or replaces entries from a Map or an object. */
  update(params: Map<string, Parameter | Tensor> | Record<string, Parameter | Tensor>): this {
    if (params === null || typeof params !== "object") {
      throw new TypeError("ParameterDict: expected a Map or an object of Parameters");
    }
    const entries = params instanceof Map ? [...params] : Object.entries(params);
    for (const [k, p] of entries) this.set(k, p);
    return this;
  }

  /** The keys in insertion order. */
  keys(): IterableIterator<string> {
    return this[ENTRIES].keys();
  }

  /** The parameters in insertion order. */
  values(): IterableIterator<Parameter> {
    return this[ENTRIES].values();
  }

  /** The `[key, parameter]` pairs in insertion order. */
  entries(): IterableIterator<[string, Parameter]> {
    return this[ENTRIES].entries();
  }

  /** Iterates over the `[key, parameter]` pairs. */
  [Symbol.iterator](): IterableIterator<[string, Parameter]> {
    return this[ENTRIES].entries();
  }
}
