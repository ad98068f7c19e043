//! Scalar math from the C library, for the functions without a Zig builtin.
//! (The C library's versions are correctly rounded to within 1 ulp.)
const c = struct {
    extern "c" fn tanhf(x: f32) f32;
    extern "c" fn tanh(x: f64) f64;
    extern "c" fn log1pf(x: f32) f32;
    extern "c" fn log1p(x: f64) f64;
    extern "c" fn expm1f(x: f32) f32;
    extern "c" fn expm1(x: f64) f64;
    extern "c" fn erff(x: f32) f32;
    extern "c" fn erf(x: f64) f64;
    extern "c" fn erfcf(x: f32) f32;
    extern "c" fn erfc(x: f64) f64;
    extern "c" fn powf(x: f32, y: f32) f32;
    extern "c" fn pow(x: f64, y: f64) f64;
    extern "c" fn atan2f(y: f32, x: f32) f32;
    extern "c" fn atan2(y: f64, x: f64) f64;
    extern "c" fn fmodf(x: f32, y: f32) f32;
    extern "c" fn fmod(x: f64, y: f64) f64;
    extern "c" fn asinf(x: f32) f32;
    extern "c" fn asin(x: f64) f64;
    extern "c" fn acosf(x: f32) f32;
    extern "c" fn acos(x: f64) f64;
    extern "c" fn atanf(x: f32) f32;
    extern "c" fn atan(x: f64) f64;
    extern "c" fn sinhf(x: f32) f32;
    extern "c" fn sinh(x: f64) f64;
    extern "c" fn coshf(x: f32) f32;
    extern "c" fn cosh(x: f64) f64;
    extern "c" fn asinhf(x: f32) f32;
    extern "c" fn asinh(x: f64) f64;
    extern "c" fn acoshf(x: f32) f32;
    extern "c" fn acosh(x: f64) f64;
    extern "c" fn atanhf(x: f32) f32;
    extern "c" fn atanh(x: f64) f64;
    extern "c" fn nearbyintf(x: f32) f32;
    extern "c" fn nearbyint(x: f64) f64;
};

pub inline fn tanh(comptime T: type, x: T) T {
    return if (T == f32) c.tanhf(x) else c.tanh(x);
}
pub inline fn log1p(comptime T: type, x: T) T {
    return if (T == f32) c.log1pf(x) else c.log1p(x);
}
pub inline fn expm1(comptime T: type, x: T) T {
    return if (T == f32) c.expm1f(x) else c.expm1(x);
}
pub inline fn erf(comptime T: type, x: T) T {
    return if (T == f32) c.erff(x) else c.erf(x);
}
pub inline fn erfc(comptime T: type, x: T) T {
    return if (T == f32) c.erfcf(x) else c.erfc(x);
}
pub inline fn pow(comptime T: type, x: T, y: T) T {
    return if (T == f32) c.powf(x, y) else c.pow(x, y);
}
pub inline fn atan2(comptime T: type, y: T, x: T) T {
    return if (T == f32) c.atan2f(y, x) else c.atan2(y, x);
}
pub inline fn fmod(comptime T: type, x: T, y: T) T {
    return if (T == f32) c.fmodf(x, y) else c.fmod(x, y);
}
pub inline fn asin(comptime T: type, x: T) T {
    return if (T == f32) c.asinf(x) else c.asin(x);
}
pub inline fn acos(comptime T: type, x: T) T {
    return if (T == f32) c.acosf(x) else c.acos(x);
}
pub inline fn atan(comptime T: type, x: T) T {
    return if (T == f32) c.atanf(x) else c.atan(x);
}
pub inline fn sinh(comptime T: type, x: T) T {
    return if (T == f32) c.sinhf(x) else c.sinh(x);
}
pub inline fn cosh(comptime T: type, x: T) T {
    return if (T == f32) c.coshf(x) else c.cosh(x);
}
pub inline fn asinh(comptime T: type, x: T) T {
    return if (T == f32) c.asinhf(x) else c.asinh(x);
}
pub inline fn acosh(comptime T: type, x: T) T {
    return if (T == f32) c.acoshf(x) else c.acosh(x);
}
pub inline fn atanh(comptime T: type, x: T) T {
    return if (T == f32) c.atanhf(x) else c.atanh(x);
}
/// Rounds half to even (the default rounding mode), as torch.round does.
pub inline fn roundEven(comptime T: type, x: T) T {
    return if (T == f32) c.nearbyintf(x) else c.nearbyint(x);
}
