/**
 * `Module`: the base class of layers and models, with PyTorch's registration
 * by attribute, parameter and buffer traversal, train/eval modes and state
 * dicts.
 *
 * @module
 */
import { Tensor } from "../tensor.ts";
import { noGrad } from "../autograd/grad_mode.ts";
import { normalizeDevice } from "../backend.ts";
import { hold, unhold } from "../lifetime.ts";
import { toDevice, toDType } from "../ops/elementwise.ts";
import { fmtShape } from "../shape.ts";
import { ITEMSIZE } from "../dtype.ts";
import { Parameter } from "./parameter.ts";
import { checkOptions, optionKeys } from "../options.ts";
import { checkDType, type DType, isFloating } from "../dtype.ts";
import { RemovableHandle, routeGroup } from "./module_hooks.ts";

/**
 * Options of {@link Module.registerBuffer}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * class Counter extends zn.nn.Module {
 *   constructor() {
 *     super();
 *     const opts: zn.nn.BufferOptions = { persistent: false };
 *     this.registerBuffer("calls", zn.zeros([1]), opts);
 *   }
 *   override forward(x: zn.Tensor): zn.Tensor {
 *     return x;
 *   }
 * }
 * Object.keys(new Counter().stateDict()); // []: not persistent
 * ```
 */
export interface BufferOptions {
  /** Whether the buffer is part of the state dict (default true). */
  persistent?: boolean;
}

/**
 * Options of {@link Module.loadStateDict}.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Linear(2, 2);
 * const opts: zn.nn.LoadStateDictOptions = { strict: false };
 * net.loadStateDict({ weight: zn.zeros([2, 2]) }, opts).missingKeys; // ["bias"]
 * ```
 */
export interface LoadStateDictOptions {
  /** Throw when keys are missing or unexpected (default true). */
  strict?: boolean;
}

const BUFFER_KEYS = optionKeys<BufferOptions>({ persistent: 0 });
const LOAD_STATE_DICT_KEYS = optionKeys<LoadStateDictOptions>({ strict: 0 });
const ZERO_GRAD_KEYS = ["setToNone"] as const;
const TO_KEYS = ["device", "dtype"] as const;
const HOOK_KEYS = ["prepend"] as const;

/**
 * Options of the hook registrations ({@link Module.registerForwardHook} and
 * the others).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const opts: zn.nn.HookOptions = { prepend: true };
 * new zn.nn.ReLU().registerForwardPreHook((_m, args) => args, opts);
 * ```
 */
export interface HookOptions {
  /** Run this hook before those already registered (default false: after). */
  prepend?: boolean;
}

/**
 * A forward pre-hook: sees the positional arguments before `forward`; may
 * return replacements (an array, or one value for a single argument).
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const double: zn.nn.ForwardPreHook = (_m, args) => [(args[0] as zn.Tensor).mul(2)];
 * ```
 */
export type ForwardPreHook = (module: Module, args: unknown[]) => unknown;
/**
 * A forward hook: sees the arguments and the output after `forward`; may
 * return a replacement output.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const shapes: number[][] = [];
 * const hook: zn.nn.ForwardHook = (_m, _args, out) => void shapes.push([...(out as zn.Tensor).shape]);
 * ```
 */
export type ForwardHook = (module: Module, args: unknown[], output: unknown) => unknown;
/**
 * A full backward hook: sees the gradients of the module's tensor inputs
 * (`gradInput`, null where none flows) and outputs (`gradOutput`); may
 * return replacement input gradients.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const clip: zn.nn.BackwardHook = (_m, gIn) => gIn.map((g) => g?.clamp(-1, 1) ?? null);
 * ```
 */
export type BackwardHook = (
  module: Module,
  gradInput: (Tensor | null)[],
  gradOutput: (Tensor | null)[],
) => (Tensor | null)[] | void;
/**
 * A full backward pre-hook: sees the gradients of the module's outputs
 * before the module's own backward; may return replacements.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const scale: zn.nn.BackwardPreHook = (_m, gOut) => gOut.map((g) => g?.mul(0.5) ?? null);
 * ```
 */
export type BackwardPreHook = (
  module: Module,
  gradOutput: (Tensor | null)[],
) => (Tensor | null)[] | void;

/** The method that copies a module's state (see {@link Module.deepCopy}). */
const COPY_STATE: unique symbol = Symbol("copyState");

interface Hooks {
  forwardPre: ForwardPreHook[];
  forward: ForwardHook[];
  backward: BackwardHook[];
  backwardPre: BackwardPreHook[];
}

/**
 * What {@link Module.loadStateDict} did not match.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const net = new zn.nn.Linear(2, 2);
 * const r: zn.nn.LoadStateDictResult = net.loadStateDict(
 *   { weight: zn.zeros([2, 2]), extra: zn.zeros([1]) },
 *   { strict: false },
 * );
 * [r.missingKeys, r.unexpectedKeys]; // [["bias"], ["extra"]]
 * ```
 */
export interface LoadStateDictResult {
  /** Keys the module expects that the state dict lacks. */
  missingKeys: string[];
  /** Keys of the state dict the module does not have. */
  unexpectedKeys: string[];
}

/**
 * A state dict: names to tensors, as an object or a Map.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * const src = new zn.nn.Linear(2, 2);
 * const sd: zn.nn.StateDict = new Map(Object.entries(src.stateDict()));
 * const dst = new zn.nn.Linear(2, 2);
 * dst.loadStateDict(sd);
 * dst.weight.eq(src.weight).all().item(); // true
 * ```
 */
export type StateDict = Record<string, Tensor> | Map<string, Tensor>;

/**
 * Base class of all layers and models. Assigning a {@link Parameter} or a
 * `Module` to a property registers it (in assignment order); buffers are
 * registered with {@link Module.registerBuffer}. Subclasses implement
 * `forward`; `call(...)` runs it.
 *
 * @example
 * ```ts
 * import * as zn from "@zeno/zeno";
 * class Net extends zn.nn.Module {
 *   fc1 = new zn.nn.Linear(4, 8);
 *   fc2 = new zn.nn.Linear(8, 2);
 *   override forward(x: zn.Tensor): zn.Tensor {
 *     return this.fc2.call(this.fc1.call(x).relu());
 *   }
 * }
 * const net = new Net();
 * net.call(zn.randn([3, 4])).shape; // [3, 2]
 * [...net.namedParameters()].map(([k]) => k); // ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
 * ```
 */
export class Module {
  /** True in training mode (see {@link Module.train}). */
  training = true;
  #buffers = new Map<string, Tensor | null>();
  #nonPersistent = new Set<string>();
  #hooks: Hooks | null = null;

  /** Computes the module's output; subclasses override it. */
  // deno-lint-ignore no-explicit-any
  forward(..._args: any[]): any {
    throw new Error(`${this.constructor.name}: forward is not implemented`);
  }

  /**
   * Runs {@link Module.forward} (the callable form of `module(...)`), with
   * the registered hooks in PyTorch's order: forward pre-hooks, forward,
   * forward hooks; backward hooks see the gradients of the tensors at the
   * top level of the arguments and of the output (one tensor or an array).
   */
  call(...args: Parameters<this["forward"]>): ReturnType<this["forward"]> {
    const h = this.#hooks;
    if (h === null) return Reflect.apply(this.forward, this, args);
    let a: unknown[] = args;
    for (const pre of h.forwardPre.slice()) {
      const r = pre(this, a);
      if (r !== undefined) a = Array.isArray(r) ? r : [r];
    }
    const full = h.backward.length > 0 || h.backwardPre.length > 0;
    // Gradients of the outputs, kept for the hooks on the inputs' side.
    let gradOutput: (Tensor | null)[] = [];
    let inputsRouted = false;
    if (full) {
      [a, inputsRouted] = routeGroup(a, (gIn) => this.#runBackwardHooks(gIn, gradOutput));
    }
    let out: unknown = Reflect.apply(this.forward, this, a);
    for (const fh of h.forward.slice()) {
      const r = fh(this, a, out);
      if (r !== undefined) out = r;
    }
    if (full) {
      const single = !Array.isArray(out);
      const group = single ? [out] : (out as unknown[]);
      const [routed, any] = routeGroup(group, (gOut) => {
        for (const pre of this.#hooks?.backwardPre.slice() ?? []) {
          const r = pre(this, gOut);
          if (r !== undefined) gOut = checkGrads(r, gOut.length, "backward pre-hook");
        }
        gradOutput = gOut;
        // No input takes a gradient: the hooks run from here, with none.
        if (!inputsRouted) {
          this.#runBackwardHooks(new Array<null>(a.length).fill(null), gradOutput);
        }
        return gOut;
      });
      if (any) out = single ? routed[0] : routed;
    }
    return out as ReturnType<this["forward"]>;
  }

  #runBackwardHooks(
    gradInput: (Tensor | null)[],
    gradOutput: (Tensor | null)[],
  ): (Tensor | null)[] {
    for (const bh of this.#hooks?.backward.slice() ?? []) {
      const r = bh(this, gradInput, gradOutput);
      if (r !== undefined) gradInput = checkGrads(r, gradInput.length, "backward hook");
    }
    return gradInput;
  }

  #addHook<K extends keyof Hooks>(kind: K, hook: Hooks[K][number], opts: HookOptions, op: string) {
    checkOptions(op, opts, HOOK_KEYS);
    if (typeof hook !== "function") {
      throw new TypeError(`${op}: expected a function, got ${typeof hook}`);
    }
    this.#hooks ??= { forwardPre: [], forward: [], backward: [], backwardPre: [] };
    const list = this.#hooks[kind] as unknown[];
    if (opts.prepend) list.unshift(hook);
    else list.push(hook);
    return new RemovableHandle(list, hook);
  }

  /**
   * Registers a hook that runs before each forward with the positional
   * arguments; a returned value replaces them. Returns a handle whose
   * `remove()` unregisters it.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const relu = new zn.nn.ReLU();
   * relu.registerForwardPreHook((_m, args) => [(args[0] as zn.Tensor).neg()]);
   * relu.call(zn.tensor([-2, 3])).toArray(); // [2, 0]
   * ```
   */
  registerForwardPreHook(hook: ForwardPreHook, opts: HookOptions = {}): RemovableHandle {
    return this.#addHook("forwardPre", hook, opts, "registerForwardPreHook");
  }

  /**
   * Registers a hook that runs after each forward with the arguments and the
   * output; a returned value replaces the output.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const fc = new zn.nn.Linear(3, 2);
   * const seen: number[][] = [];
   * const h = fc.registerForwardHook((_m, _args, out) => void seen.push([...(out as zn.Tensor).shape]));
   * fc.call(zn.randn([4, 3]));
   * h.remove();
   * seen; // [[4, 2]]
   * ```
   */
  registerForwardHook(hook: ForwardHook, opts: HookOptions = {}): RemovableHandle {
    return this.#addHook("forward", hook, opts, "registerForwardHook");
  }

  /**
   * Registers a hook that runs in backward once the gradients of the
   * module's tensor inputs are computed, with them and the output
   * gradients; returned gradients replace the input gradients.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const fc = new zn.nn.Linear(3, 1);
   * fc.registerFullBackwardHook((_m, gIn) => gIn.map((g) => g?.mul(0) ?? null));
   * const x = zn.randn([2, 3], { requiresGrad: true });
   * fc.call(x).sum().backward();
   * x.grad!.abs().sum().item(); // 0
   * ```
   */
  registerFullBackwardHook(hook: BackwardHook, opts: HookOptions = {}): RemovableHandle {
    return this.#addHook("backward", hook, opts, "registerFullBackwardHook");
  }

  /**
   * Registers a hook that runs in backward with the gradients of the
   * module's outputs, before they flow into the module; returned gradients
   * replace them.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const fc = new zn.nn.Linear(3, 1);
   * fc.registerFullBackwardPreHook((_m, gOut) => gOut.map((g) => g?.mul(2) ?? null));
   * fc.call(zn.randn([2, 3])).sum().backward();
   * fc.bias!.grad!.item(); // 4: two rows, each gradient doubled
   * ```
   */
  registerFullBackwardPreHook(hook: BackwardPreHook, opts: HookOptions = {}): RemovableHandle {
    return this.#addHook("backwardPre", hook, opts, "registerFullBackwardPreHook");
  }

  // ---------------------------------------------------------------- registration

  /**
   * The module's own members as `[name, value]`, in registration order.
   * Containers that keep their children elsewhere override it.
   */
  protected ownMembers(): [string, unknown][] {
    const members = Object.entries(this);
    for (const [k, v] of members) checkNotHidden(this, k, v);
    return members;
  }

  /** Registers (or replaces) a buffer: state that is not a parameter, such as running means. */
  registerBuffer(name: string, tensor: Tensor | null, opts: BufferOptions = {}): void {
    checkName(name, "registerBuffer");
    checkOptions("registerBuffer", opts, BUFFER_KEYS);
    if (tensor !== null && !(tensor instanceof Tensor)) {
      throw new TypeError(`registerBuffer: expected a Tensor or null for "${name}"`);
    }
    if (Object.hasOwn(this, name) && !this.#buffers.has(name)) {
      throw new Error(`registerBuffer: attribute "${name}" already exists`);
    }
    setHeld(this.#buffers, name, tensor);
    if (opts.persistent === false) this.#nonPersistent.add(name);
    else this.#nonPersistent.delete(name);
    Object.defineProperty(this, name, {
      get: () => this.#buffers.get(name) ?? null,
      set: (t: Tensor | null) => {
        if (t !== null && !(t instanceof Tensor)) {
          throw new TypeError(`buffer "${name}": expected a Tensor or null`);
        }
        setHeld(this.#buffers, name, t);
      },
      enumerable: false,
      configurable: true,
    });
  }

  /** Registers `param` under `name` (the same as assigning the property). */
  registerParameter(name: string, param: Parameter | null): void {
    checkName(name, "registerParameter");
    if (param !== null && !(param instanceof Parameter)) {
      throw new TypeError(`registerParameter: "${name}" must be a Parameter or null`);
    }
    (this as Record<string, unknown>)[name] = param;
  }

  /** Registers `module` as a child under `name` (the same as assigning the property). */
  addModule(name: string, module: Module | null): void {
    checkName(name, "addModule");
    if (module !== null && !(module instanceof Module)) {
      throw new TypeError(`addModule: "${name}" must be a Module or null`);
    }
    (this as Record<string, unknown>)[name] = module;
  }

  // ---------------------------------------------------------------- traversal

  /** Direct children with their names. */
  *namedChildren(): IterableIterator<[string, Module]> {
    const seen = new Set<Module>();
    for (const [k, v] of this.ownMembers()) {
      if (v instanceof Module && !seen.has(v)) {
        seen.add(v);
        yield [k, v];
      }
    }
  }

  /** Direct children. */
  *children(): IterableIterator<Module> {
    for (const [, m] of this.namedChildren()) yield m;
  }

  /** This module and all below it (pre-order, each once) with dotted names ("" for this one). */
  *namedModules(prefix = ""): IterableIterator<[string, Module]> {
    const seen = new Set<Module>();
    function* walk(m: Module, p: string): IterableIterator<[string, Module]> {
      if (seen.has(m)) return;
      seen.add(m);
      yield [p, m];
      for (const [k, v] of m.ownMembers()) {
        if (v instanceof Module) yield* walk(v, p ? `${p}.${k}` : k);
      }
    }
    yield* walk(this, prefix);
  }

  /** This module and all below it. */
  *modules(): IterableIterator<Module> {
    for (const [, m] of this.namedModules()) yield m;
  }

  /** Parameters with PyTorch's dotted names (each once), or only this module's own ones. */
  *namedParameters(prefix = "", recurse = true): IterableIterator<[string, Parameter]> {
    const seen = new Set<Tensor>();
    const mods: Iterable<[string, Module]> = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [p, m] of mods) {
      for (const [k, v] of m.ownMembers()) {
        if (v instanceof Parameter && !seen.has(v)) {
          seen.add(v);
          yield [p ? `${p}.${k}` : k, v];
        }
      }
    }
  }

  /** All parameters (each once). */
  *parameters(recurse = true): IterableIterator<Parameter> {
    for (const [, p] of this.namedParameters("", recurse)) yield p;
  }

  /** Buffers with dotted names (each once; null buffers skipped). */
  *namedBuffers(prefix = "", recurse = true): IterableIterator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    const mods: Iterable<[string, Module]> = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [p, m] of mods) {
      for (const [k, v] of m.#buffers) {
        if (v !== null && !seen.has(v)) {
          seen.add(v);
          yield [p ? `${p}.${k}` : k, v];
        }
      }
    }
  }

  /** All buffers (each once). */
  *buffers(recurse = true): IterableIterator<Tensor> {
    for (const [, b] of this.namedBuffers("", recurse)) yield b;
  }

  /** The submodule at a dotted path ("" is this module). */
  getSubmodule(target: string): Module {
    if (target === "") return this;
    return target.split(".").reduce<Module>((m, part) => {
      const next = new Map(m.ownMembers()).get(part);
      if (!(next instanceof Module)) {
        throw new Error(`getSubmodule: ${m.constructor.name} has no submodule "${part}"`);
      }
      return next;
    }, this);
  }

  /** The parameter at a dotted path. */
  getParameter(target: string): Parameter {
    const [mod, name] = splitTarget(target);
    const v = new Map(this.getSubmodule(mod).ownMembers()).get(name);
    if (!(v instanceof Parameter)) throw new Error(`getParameter: no parameter "${target}"`);
    return v;
  }

  /** The buffer at a dotted path. */
  getBuffer(target: string): Tensor | null {
    const [mod, name] = splitTarget(target);
    const m = this.getSubmodule(mod);
    if (!m.#buffers.has(name)) throw new Error(`getBuffer: no buffer "${target}"`);
    return m.#buffers.get(name) ?? null;
  }

  // ---------------------------------------------------------------- copies

  /**
   * A deep copy (as PyTorch's `copy.deepcopy(model)`): new parameters,
   * buffers and submodules with the same values, dtypes, devices and
   * `requiresGrad` (gradients copied too), the same training mode and
   * hooks. A tensor or module reached twice (tied weights) stays shared in
   * the copy. Arrays, Maps, Sets, plain objects and typed arrays held by a
   * module are copied; functions and other objects are shared. State kept
   * in `#private` fields of a subclass is out of reach and not copied: keep
   * a module's state in properties.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const net = new zn.nn.Linear(2, 1);
   * const copy = net.deepCopy();
   * zn.noGrad(() => copy.weight.fill_(0));
   * net.weight.abs().sum().item() !== 0; // true: the original is untouched
   * ```
   */
  deepCopy(): this {
    return noGrad(() => copyValue(this, new Map())) as this;
  }

  /** @internal Copies this module's state into `copy`, a blank instance of its class. */
  [COPY_STATE](copy: Module, memo: Map<object, unknown>): void {
    for (const key of Reflect.ownKeys(this)) {
      if (typeof key === "string" && this.#buffers.has(key)) continue;
      const d = Object.getOwnPropertyDescriptor(this, key)!;
      if ("value" in d) d.value = copyValue(d.value, memo);
      Object.defineProperty(copy, key, d);
    }
    for (const [name, t] of this.#buffers) {
      copy.registerBuffer(name, copyValue(t, memo) as Tensor | null, {
        persistent: !this.#nonPersistent.has(name),
      });
    }
    const h = this.#hooks;
    if (h) {
      copy.#hooks = {
        forwardPre: [...h.forwardPre],
        forward: [...h.forward],
        backward: [...h.backward],
        backwardPre: [...h.backwardPre],
      };
    }
  }

  // ---------------------------------------------------------------- modes and helpers

  /** Sets training mode here and below (default true); returns this module. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Sets evaluation mode (`train(false)`); returns this module. */
  eval(): this {
    return this.train(false);
  }

  /** Clears the gradients of all parameters (to null by default, else zeros in place). */
  zeroGrad(opts: { setToNone?: boolean } = {}): void {
    checkOptions("zeroGrad", opts, ZERO_GRAD_KEYS);
    const toNone = opts.setToNone ?? true;
    for (const p of this.parameters()) {
      if (p.grad === null) continue;
      if (toNone) p.grad = null;
      else noGrad(() => p.grad!.detach().zero_());
    }
  }

  /**
   * Moves every parameter and buffer to `device` in place, like PyTorch's
   * `module.to(device)`: the same Parameter objects point at new memory, so
   * optimizers built before or after keep working (their state follows the
   * parameters at the next step). Gradients move too. Returns this module.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const net = new zn.nn.Linear(4, 2).to("cpu");
   * net.weight.device; // "cpu"
   * // net.to("cuda") or net.cuda() on a GPU machine
   * ```
   */
  to(target: string | { device?: string; dtype?: DType }): this {
    let device: string | undefined, dtype: DType | undefined;
    if (typeof target === "string") {
      if (target in ITEMSIZE) dtype = target as DType;
      else device = target;
    } else {
      checkOptions("Module.to", target, TO_KEYS);
      device = target.device;
      if (target.dtype !== undefined) dtype = checkDType(target.dtype, "Module.to");
    }
    if (dtype !== undefined && !isFloating(dtype)) {
      throw new TypeError(
        `Module.to: nn.Module.to only accepts floating point dtypes, but got ${dtype}`,
      );
    }
    const dev = device === undefined ? undefined : normalizeDevice(device);
    noGrad(() => {
      // Parameters and floating buffers change dtype (integer buffers, such as
      // batch norm's step count, keep theirs); the objects stay the same, so
      // optimizers built before still hold them.
      for (const p of this.parameters()) convertInPlace(p, dev, dtype);
      for (const m of this.modules()) {
        for (const b of m.#buffers.values()) {
          if (b) {
            convertInPlace(b, dev, b.dtype !== "bool" && isFloating(b.dtype) ? dtype : undefined);
          }
        }
      }
    });
    return this;
  }

  /**
   * Converts floating parameters and buffers to float16.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * new zn.nn.Linear(2, 2).half().weight.dtype; // "float16"
   * ```
   */
  half(): this {
    return this.to({ dtype: "float16" });
  }

  /**
   * Converts floating parameters and buffers to bfloat16.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * new zn.nn.Linear(2, 2).bfloat16().weight.dtype; // "bfloat16"
   * ```
   */
  bfloat16(): this {
    return this.to({ dtype: "bfloat16" });
  }

  /**
   * Converts floating parameters and buffers to float32.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * new zn.nn.Linear(2, 2).double().float().weight.dtype; // "float32"
   * ```
   */
  float(): this {
    return this.to({ dtype: "float32" });
  }

  /**
   * Converts floating parameters and buffers to float64.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * new zn.nn.Linear(2, 2).double().weight.dtype; // "float64"
   * ```
   */
  double(): this {
    return this.to({ dtype: "float64" });
  }

  /**
   * Moves parameters and buffers to a CUDA device (default "cuda:0").
   *
   * @example
   * ```ts ignore
   * import * as zn from "@zeno/zeno";
   * const net = new zn.nn.Linear(4, 2).cuda(); // needs a GPU
   * ```
   */
  cuda(device: number | string = 0): this {
    return this.to(typeof device === "number" ? `cuda:${device}` : device);
  }

  /**
   * Moves parameters and buffers to the CPU.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * new zn.nn.Linear(4, 2).cpu().weight.device; // "cpu"
   * ```
   */
  cpu(): this {
    return this.to("cpu");
  }

  /** Calls `fn` on every submodule (children first) and then on this one; returns this. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /** Sets `requiresGrad` on all parameters; returns this module. */
  requiresGrad_(on = true): this {
    for (const p of this.parameters()) p.requiresGrad = on;
    return this;
  }

  /** The number of parameter elements (optionally only trainable ones). */
  numParameters(onlyTrainable = false): number {
    let n = 0;
    for (const p of this.parameters()) if (!onlyTrainable || p.requiresGrad) n += p.numel;
    return n;
  }

  // ---------------------------------------------------------------- state dicts

  /**
   * Parameters and persistent buffers by dotted name, detached (sharing
   * storage), in PyTorch's order.
   */
  stateDict(prefix = ""): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    const walk = (m: Module, p: string) => {
      for (const [k, v] of m.ownMembers()) {
        if (v instanceof Parameter) out[p + k] = v.detach();
      }
      for (const [k, v] of m.#buffers) {
        if (v !== null && !m.#nonPersistent.has(k)) out[p + k] = v.detach();
      }
      for (const [k, v] of m.ownMembers()) {
        if (v instanceof Module) walk(v, `${p}${k}.`);
      }
    };
    walk(this, prefix);
    return out;
  }

  /**
   * Copies a state dict's tensors into this module's parameters and buffers
   * in place. Shape mismatches, values that are not tensors and disposed
   * tensors always throw; missing and unexpected keys throw when `strict`
   * (the default) and are returned otherwise. Everything is checked before
   * the first copy, so a load that throws leaves the module unchanged.
   *
   * @example
   * ```ts
   * import * as zn from "@zeno/zeno";
   * const a = new zn.nn.Linear(3, 2), b = new zn.nn.Linear(3, 2);
   * b.loadStateDict(a.stateDict());
   * b.weight.toArray(); // the same values as a.weight
   * ```
   */
  loadStateDict(stateDict: StateDict, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    checkOptions("loadStateDict", opts, LOAD_STATE_DICT_KEYS);
    const strict = opts.strict ?? true;
    const given = stateDict instanceof Map
      ? new Map(stateDict)
      : new Map(Object.entries(stateDict));
    const own = this.stateDict();
    const missingKeys: string[] = [];
    const errors: string[] = [];
    const copies: [Tensor, Tensor][] = [];
    for (const [k, dst] of Object.entries(own)) {
      if (!given.has(k)) {
        missingKeys.push(k);
        continue;
      }
      const src = given.get(k);
      if (!(src instanceof Tensor)) {
        errors.push(`While copying the parameter named "${k}", expected a Tensor`);
      } else if (src.isDisposed) {
        errors.push(`While copying the parameter named "${k}", the source tensor was disposed`);
      } else if (!Object.hasOwn(ITEMSIZE, src.dtype)) {
        errors.push(
          `While copying the parameter named "${k}", the source dtype ${
            String(src.dtype)
          } cannot be converted to ${dst.dtype}`,
        );
      } else if (
        src.ndim !== dst.ndim || src.shape.some((s, i) => s !== dst.shape[i])
      ) {
        errors.push(
          `size mismatch for ${k}: copying a param with shape ${
            fmtShape(src.shape)
          } from checkpoint, the shape in current model is ${fmtShape(dst.shape)}.`,
        );
      } else copies.push([dst, src]);
    }
    const unexpectedKeys = [...given.keys()].filter((k) => !(k in own));
    if (strict) {
      if (unexpectedKeys.length) {
        errors.unshift(
          `Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(", ")}.`,
        );
      }
      if (missingKeys.length) {
        errors.unshift(
          `Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(", ")}.`,
        );
      }
    }
    if (errors.length) {
      throw new Error(
        `Error(s) in loading state_dict for ${this.constructor.name}:\n\t${errors.join("\n\t")}`,
      );
    }
    // Everything is checked: now copy. A source that shares memory with a
    // destination (the module's own tensors under other names) is copied
    // first, so that no copy reads what an earlier one overwrote.
    const targets = new Set(copies.map(([dst]) => dst.storage));
    const same = (a: Tensor, b: Tensor) =>
      a.storage === b.storage && a.offset === b.offset &&
      a.strides.every((s, i) => s === b.strides[i]);
    noGrad(() => {
      const sources = copies.map(([dst, src]) =>
        targets.has(src.storage) && !same(src, dst) ? src.clone() : src
      );
      copies.forEach(([dst, src], i) => {
        dst.copy_(sources[i]);
        if (sources[i] !== src) sources[i].dispose();
      });
    });
    return { missingKeys, unexpectedKeys };
  }

  /** A one-line-per-module description, like PyTorch's repr. */
  toString(): string {
    const kids = [...this.namedChildren()];
    const head = `${this.constructor.name}(${this.extraRepr()}`;
    if (kids.length === 0) return `${head})`;
    const body = kids.map(([k, m]) => `  (${k}): ${m.toString().replaceAll("\n", "\n  ")}`);
    return `${head}\n${body.join("\n")}\n)`;
  }

  /** The module's settings as shown by `toString` (subclasses override). */
  extraRepr(): string {
    return "";
  }
}

/** Buffers hold their memory (see src/lifetime.ts): swap the holds on assignment. */
/** A deep copy of `v` for {@link Module.deepCopy}; `memo` maps originals to their copies. */
function copyValue(v: unknown, memo: Map<object, unknown>): unknown {
  if (v === null || typeof v !== "object") return v;
  if (memo.has(v)) return memo.get(v);
  if (v instanceof Tensor) {
    if (v.gradFn) {
      throw new Error(
        `deepCopy: only tensors created explicitly (graph leaves) can be copied; a ${
          fmtShape(v.shape)
        } tensor came from ${v.gradFn.name}`,
      );
    }
    const data = v.clone();
    const t = v instanceof Parameter ? new Parameter(data, v.requiresGrad) : data;
    if (!(v instanceof Parameter) && v.requiresGrad) t.requiresGrad_(true);
    memo.set(v, t);
    if (v.grad) t.grad = v.grad.clone();
    return t;
  }
  if (v instanceof Module) {
    // Module's own constructor installs its fields on an object of v's
    // class; the subclass's constructor (and its arguments) is not needed:
    // every own property is copied below.
    const copy = Reflect.construct(Module, [], v.constructor) as Module;
    memo.set(v, copy);
    v[COPY_STATE](copy, memo);
    return copy;
  }
  if (Array.isArray(v)) {
    const a: unknown[] = [];
    memo.set(v, a);
    for (const x of v) a.push(copyValue(x, memo));
    return a;
  }
  if (v instanceof Map) {
    const m = new Map();
    memo.set(v, m);
    for (const [k, x] of v) m.set(copyValue(k, memo), copyValue(x, memo));
    return m;
  }
  if (v instanceof Set) {
    const m = new Set();
    memo.set(v, m);
    for (const x of v) m.add(copyValue(x, memo));
    return m;
  }
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const c = (v as unknown as { slice(): unknown }).slice();
    memo.set(v, c);
    return c;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v;
  const o = Object.create(proto) as Record<PropertyKey, unknown>;
  memo.set(v, o);
  for (const key of Reflect.ownKeys(v)) {
    o[key] = copyValue((v as Record<PropertyKey, unknown>)[key], memo);
  }
  return o;
}

function setHeld(map: Map<string, Tensor | null>, name: string, t: Tensor | null): void {
  const old = map.get(name) ?? null;
  map.set(name, t);
  if (old === t) return;
  if (t) hold(t);
  if (old) unhold(old);
}

/** Points `t` at a copy of its data on `device` (same object). */
/**
 * Parameters or modules inside a plain array, Map or object would vanish
 * from `parameters()` and the state dict (PyTorch drops them silently):
 * refuse them with the container to use instead.
 */
function checkNotHidden(m: Module, key: string, v: unknown): void {
  if (v === null || typeof v !== "object" || v instanceof Tensor || v instanceof Module) return;
  let values: Iterable<unknown>;
  if (Array.isArray(v)) values = v;
  else if (v instanceof Map) values = v.values();
  else if (Object.getPrototypeOf(v) === Object.prototype) values = Object.values(v);
  else return;
  for (const x of values) {
    if (x instanceof Parameter || x instanceof Module) {
      const what = x instanceof Parameter ? "Parameters" : "Modules";
      const use = x instanceof Parameter
        ? (Array.isArray(v) ? "zn.nn.ParameterList" : "zn.nn.ParameterDict")
        : (Array.isArray(v) ? "zn.nn.ModuleList" : "zn.nn.ModuleDict");
      throw new TypeError(
        `${m.constructor.name}: property "${key}" holds ${what} in a plain ${
          Array.isArray(v) ? "array" : v instanceof Map ? "Map" : "object"
        }, which parameters() and stateDict() cannot see; use ${use}`,
      );
    }
  }
}

/** A hook's replacement gradients: one Tensor or null per slot. */
function checkGrads(r: unknown, n: number, what: string): (Tensor | null)[] {
  if (!Array.isArray(r) || r.length !== n || r.some((g) => g !== null && !(g instanceof Tensor))) {
    throw new TypeError(`${what}: must return ${n} gradient(s) (Tensor or null), got ${String(r)}`);
  }
  return r;
}

function convertInPlace(t: Tensor, device: string | undefined, dtype: DType | undefined): void {
  const dev = device ?? t.device;
  const dt = dtype ?? t.dtype;
  if (t.device !== dev || t.dtype !== dt) {
    const moved = toDType(toDevice(t.detach(), dev), dt).contiguous();
    t.setStorage_(moved.storage, moved.strides, moved.offset, dt);
  }
  const g = t.grad;
  if (g && (g.device !== dev || g.dtype !== dt)) t.grad = toDType(toDevice(g.detach(), dev), dt);
}

function checkName(name: string, op: string): void {
  if (typeof name !== "string" || name === "" || name.includes(".")) {
    throw new TypeError(`${op}: name must be a non-empty string without ".", got "${name}"`);
  }
}

function splitTarget(target: string): [string, string] {
  const i = target.lastIndexOf(".");
  return i < 0 ? ["", target] : [target.slice(0, i), target.slice(i + 1)];
}
