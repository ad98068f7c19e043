//! The CUDA exports' implementations (forwarded from root.zig).
const std = @import("std");

pub const no_device: i32 = 3;

pub fn init() i32 {
    return no_device;
}

pub fn deviceCount() i32 {
    return 0;
}

pub fn deviceName(dev: i32, buf: [*]u8, len: i32) i32 {
    _ = dev;
    _ = buf;
    _ = len;
    return no_device;
}

pub fn deviceProps(dev: i32, out: [*]f64) i32 {
    _ = dev;
    _ = out;
    return no_device;
}

pub fn setDevice(dev: i32) i32 {
    _ = dev;
    return no_device;
}

pub fn lastError(buf: [*]u8, len: i32) i32 {
    _ = buf;
    _ = len;
    return no_device;
}

pub fn malloc(bytes: f64, out: [*]u64) i32 {
    _ = bytes;
    _ = out;
    return no_device;
}

pub fn free(ptr: u64) i32 {
    _ = ptr;
    return no_device;
}

pub fn emptyCache() i32 {
    return no_device;
}

pub fn memoryStats(out: [*]f64) i32 {
    _ = out;
    return no_device;
}

pub fn resetPeak() i32 {
    return no_device;
}

pub fn synchronize() i32 {
    return no_device;
}

pub fn htod(dst: u64, src: [*]u8, bytes: f64) i32 {
    _ = dst;
    _ = src;
    _ = bytes;
    return no_device;
}

pub fn dtoh(dst: [*]u8, src: u64, bytes: f64) i32 {
    _ = dst;
    _ = src;
    _ = bytes;
    return no_device;
}

pub fn dtod(dst: u64, src: u64, bytes: f64) i32 {
    _ = dst;
    _ = src;
    _ = bytes;
    return no_device;
}

pub fn memset0(dst: u64, bytes: f64) i32 {
    _ = dst;
    _ = bytes;
    return no_device;
}

pub fn setAllowTf32(on: i32) i32 {
    _ = on;
    return no_device;
}

pub fn copy(src_dtype: i32, src: u64, soff: f64, dst_dtype: i32, dst: u64, doff: f64, ndim: i32, meta: [*]const i32) i32 {
    _ = src_dtype;
    _ = src;
    _ = soff;
    _ = dst_dtype;
    _ = dst;
    _ = doff;
    _ = ndim;
    _ = meta;
    return no_device;
}

pub fn fill(dtype: i32, dst: u64, doff: f64, ndim: i32, meta: [*]const i32, bits: u64) i32 {
    _ = dtype;
    _ = dst;
    _ = doff;
    _ = ndim;
    _ = meta;
    _ = bits;
    return no_device;
}

pub fn unary(op: i32, dtype: i32, x: u64, xoff: f64, y: u64, yoff: f64, ndim: i32, meta: [*]const i32, a: f64, b: f64, c: f64) i32 {
    _ = op;
    _ = dtype;
    _ = x;
    _ = xoff;
    _ = y;
    _ = yoff;
    _ = ndim;
    _ = meta;
    _ = a;
    _ = b;
    _ = c;
    return no_device;
}

pub fn binary(op: i32, dtype: i32, a: u64, aoff: f64, b: u64, boff: f64, out: u64, ooff: f64, ndim: i32, meta: [*]const i32) i32 {
    _ = op;
    _ = dtype;
    _ = a;
    _ = aoff;
    _ = b;
    _ = boff;
    _ = out;
    _ = ooff;
    _ = ndim;
    _ = meta;
    return no_device;
}

pub fn where(dtype: i32, c: u64, coff: f64, a: u64, aoff: f64, b: u64, boff: f64, out: u64, ooff: f64, ndim: i32, meta: [*]const i32) i32 {
    _ = dtype;
    _ = c;
    _ = coff;
    _ = a;
    _ = aoff;
    _ = b;
    _ = boff;
    _ = out;
    _ = ooff;
    _ = ndim;
    _ = meta;
    return no_device;
}

pub fn reduce(op: i32, dtype: i32, x: u64, xoff: f64, out: u64, ooff: f64, idx: u64, ioff: f64, outer: i32, r: i32, inner: i32, p: f64) i32 {
    _ = op;
    _ = dtype;
    _ = x;
    _ = xoff;
    _ = out;
    _ = ooff;
    _ = idx;
    _ = ioff;
    _ = outer;
    _ = r;
    _ = inner;
    _ = p;
    return no_device;
}

pub fn scan(op: i32, dtype: i32, x: u64, xoff: f64, out: u64, ooff: f64, outer: i32, r: i32, inner: i32) i32 {
    _ = op;
    _ = dtype;
    _ = x;
    _ = xoff;
    _ = out;
    _ = ooff;
    _ = outer;
    _ = r;
    _ = inner;
    return no_device;
}

pub fn softmax(log: i32, dtype: i32, x: u64, xoff: f64, out: u64, ooff: f64, outer: i32, r: i32, inner: i32) i32 {
    _ = log;
    _ = dtype;
    _ = x;
    _ = xoff;
    _ = out;
    _ = ooff;
    _ = outer;
    _ = r;
    _ = inner;
    return no_device;
}

pub fn matmul(dtype: i32, a: u64, aoff: f64, b: u64, boff: f64, c: u64, coff: f64, batch: i32, m: i32, n: i32, k: i32, meta: [*]const i32) i32 {
    _ = dtype;
    _ = a;
    _ = aoff;
    _ = b;
    _ = boff;
    _ = c;
    _ = coff;
    _ = batch;
    _ = m;
    _ = n;
    _ = k;
    _ = meta;
    return no_device;
}

pub fn indexSelect(elem_size: i32, x: u64, xoff: f64, idx: u64, ioff: f64, n: i32, out: u64, ooff: f64, outer: i32, size: i32, inner: i32, wrap: i32) i32 {
    _ = elem_size;
    _ = x;
    _ = xoff;
    _ = idx;
    _ = ioff;
    _ = n;
    _ = out;
    _ = ooff;
    _ = outer;
    _ = size;
    _ = inner;
    _ = wrap;
    return no_device;
}

pub fn gather(dtype: i32, x: u64, xoff: f64, idx: u64, ioff: f64, out: u64, ooff: f64, ndim: i32, meta: [*]const i32, dim: i32, size: i32) i32 {
    _ = dtype;
    _ = x;
    _ = xoff;
    _ = idx;
    _ = ioff;
    _ = out;
    _ = ooff;
    _ = ndim;
    _ = meta;
    _ = dim;
    _ = size;
    return no_device;
}

pub fn scatter(op: i32, dtype: i32, dst: u64, doff: f64, idx: u64, ioff: f64, src: u64, soff: f64, ndim: i32, meta: [*]const i32, dim: i32, size: i32) i32 {
    _ = op;
    _ = dtype;
    _ = dst;
    _ = doff;
    _ = idx;
    _ = ioff;
    _ = src;
    _ = soff;
    _ = ndim;
    _ = meta;
    _ = dim;
    _ = size;
    return no_device;
}

pub fn sort(dtype: i32, x: u64, xoff: f64, vals: u64, voff: f64, idx: u64, ioff: f64, outer: i32, r: i32, inner: i32, descending: i32) i32 {
    _ = dtype;
    _ = x;
    _ = xoff;
    _ = vals;
    _ = voff;
    _ = idx;
    _ = ioff;
    _ = outer;
    _ = r;
    _ = inner;
    _ = descending;
    return no_device;
}

pub fn optimStep(kind: i32, dtype: i32, p: u64, poff: f64, g: u64, goff: f64, s1: u64, s1off: f64, s2: u64, s2off: f64, s3: u64, s3off: f64, n: i32, hyper: [*]const f64) i32 {
    _ = kind;
    _ = dtype;
    _ = p;
    _ = poff;
    _ = g;
    _ = goff;
    _ = s1;
    _ = s1off;
    _ = s2;
    _ = s2off;
    _ = s3;
    _ = s3off;
    _ = n;
    _ = hyper;
    return no_device;
}

pub fn window2d(op: i32, dtype: i32, src: u64, soff: f64, dst: u64, doff: f64, idx: u64, ioff: f64, meta: [*]const i32, count_include_pad: i32, divisor: i32) i32 {
    _ = op;
    _ = dtype;
    _ = src;
    _ = soff;
    _ = dst;
    _ = doff;
    _ = idx;
    _ = ioff;
    _ = meta;
    _ = count_include_pad;
    _ = divisor;
    return no_device;
}

